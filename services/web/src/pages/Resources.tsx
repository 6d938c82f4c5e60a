import { Page } from "../components/ui";

export function ResourcesPage() {
  return <Page title="Resources">Not built yet.</Page>;
}
