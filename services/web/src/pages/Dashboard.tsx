import { Page } from "../components/ui";

export function DashboardPage() {
  return <Page title="Dashboard">Not built yet.</Page>;
}
