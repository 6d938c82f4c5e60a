// The caller's own account: password and second factor.
import { useState } from "react";
import { useSession } from "../auth/session";
import { Card, Notice, Page } from "../components/ui";
import { MfaSection } from "../components/account/MfaSection";
import { PasswordChangeForm } from "../components/account/PasswordChangeForm";
import "../components/account/account.css";

export function AccountPage() {
  const { session, reload } = useSession();
  const [changed, setChanged] = useState(false);

  return (
    <Page title="Account">
      <div className="account-stack">
        <Card>
          <dl className="facts">
            <dt>Username</dt>
            <dd>{session?.username}</dd>
            <dt>Role</dt>
            <dd>{session?.role}</dd>
          </dl>
        </Card>
        <section className="card" aria-labelledby="account-password-title">
          <h2 className="card-title" id="account-password-title">
            Password
          </h2>
          {changed ? <Notice kind="success">Password changed. Your other sessions were logged out.</Notice> : null}
          <PasswordChangeForm
            idPrefix="account-password"
            onChanged={async () => {
              setChanged(true);
              await reload();
            }}
          />
        </section>
        <section className="card" aria-labelledby="account-mfa-title">
          <h2 className="card-title" id="account-mfa-title">
            Two-factor authentication
          </h2>
          <MfaSection />
        </section>
      </div>
    </Page>
  );
}
