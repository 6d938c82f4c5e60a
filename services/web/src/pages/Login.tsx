import { Page } from "../components/ui";

export function LoginPage() {
  return <Page title="Log in">Not built yet.</Page>;
}
