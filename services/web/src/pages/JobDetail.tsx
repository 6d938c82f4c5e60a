import { Page } from "../components/ui";

export function JobDetailPage() {
  return <Page title="Job">Not built yet.</Page>;
}
