import { Page } from "../components/ui";

export function PlanEditPage() {
  return <Page title="Plan">Not built yet.</Page>;
}
