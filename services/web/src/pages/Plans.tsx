import { Page } from "../components/ui";

export function PlansPage() {
  return <Page title="Plans">Not built yet.</Page>;
}
