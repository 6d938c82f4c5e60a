import { Page } from "../components/ui";

export function BackupsPage() {
  return <Page title="Backups">Not built yet.</Page>;
}
