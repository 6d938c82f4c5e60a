import { Page } from "../components/ui";

export function ChangePasswordPage() {
  return <Page title="Change your password">Not built yet.</Page>;
}
