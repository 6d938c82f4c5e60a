import { Page } from "../components/ui";

export function UsersPage() {
  return <Page title="Users">Not built yet.</Page>;
}
