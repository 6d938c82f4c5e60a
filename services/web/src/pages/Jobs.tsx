import { Page } from "../components/ui";

export function JobsPage() {
  return <Page title="Jobs">Not built yet.</Page>;
}
