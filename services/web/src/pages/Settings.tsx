import { Page } from "../components/ui";

export function SettingsPage() {
  return <Page title="Settings">Not built yet.</Page>;
}
