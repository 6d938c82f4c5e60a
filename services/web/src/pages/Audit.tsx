import { Page } from "../components/ui";

export function AuditPage() {
  return <Page title="Audit log">Not built yet.</Page>;
}
