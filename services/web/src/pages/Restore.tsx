import { Page } from "../components/ui";

export function RestorePage() {
  return <Page title="Restore">Not built yet.</Page>;
}
