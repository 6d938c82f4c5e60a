import { Page } from "../components/ui";

export function AccountPage() {
  return <Page title="Account">Not built yet.</Page>;
}
