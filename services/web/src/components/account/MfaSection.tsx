// The caller's second factor: enrol an authenticator (QR code), see and renew recovery codes, turn it off.
import { useState, type FormEvent } from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { api, type Schemas } from "../../api/client";
import { errorMessage, unwrap } from "../../api/errors";
import { useCan, useSession } from "../../auth/session";
import { ErrorBanner, Loading, Notice } from "../ui";
import { CurrentPasswordStep } from "./CurrentPasswordStep";
import { AuthCodeField } from "./credentialFields";
import { RecoveryCodesOnce } from "./RecoveryCodesOnce";
import { svgDataUrl } from "./svgImage";
import { SubmitOrCancel } from "./SubmitOrCancel";

export const MFA_KEY = ["mfa"] as const;

type Mode =
  | { kind: "overview" }
  | { kind: "enrol-password" }
  | { kind: "enrol-scan"; enrolment: Schemas["MfaEnrolment"] }
  | { kind: "codes"; codes: string[] }
  | { kind: "renew-password" }
  | { kind: "disable-password" };

const OVERVIEW: Mode = { kind: "overview" };

export function MfaSection() {
  const { session, reload } = useSession();
  const can = useCan();
  const client = useQueryClient();
  const status = useQuery({ queryKey: MFA_KEY, queryFn: async () => unwrap(await api.GET("/users/me/mfa")) });
  const [mode, setMode] = useState<Mode>(OVERVIEW);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  function go(next: Mode, message: string | null = null) {
    setMode(next);
    setError(null);
    setNotice(message);
  }

  /** MFA changes end the user's other sessions: read this one and the status again. */
  async function refresh() {
    await Promise.all([client.invalidateQueries({ queryKey: MFA_KEY }), reload()]);
  }

  async function attempt(work: () => Promise<void>) {
    setBusy(true);
    setError(null);
    try {
      await work();
    } catch {
      setError("The server could not be reached; try again.");
    } finally {
      setBusy(false);
    }
  }

  const startEnrolment = (password: string) =>
    attempt(async () => {
      const { data, error: refused, response } = await api.POST("/users/me/mfa/enrolment", {
        body: { current_password: password },
      });
      if (!data) return setError(errorMessage(refused, `Refused (${response.status}).`));
      go({ kind: "enrol-scan", enrolment: data });
    });

  const confirm = (code: string) =>
    attempt(async () => {
      const { data, error: refused, response } = await api.POST("/users/me/mfa/confirm", { body: { code } });
      if (data) {
        go({ kind: "codes", codes: data.recovery_codes }, "Two-factor authentication is on. Your other sessions were logged out.");
        await refresh();
        return;
      }
      const message = errorMessage(refused, `Refused (${response.status}).`);
      // Too many wrong codes cancel the enrolment: then it has to start again from the password.
      const latest = await client.fetchQuery({ queryKey: MFA_KEY, queryFn: async () => unwrap(await api.GET("/users/me/mfa")), staleTime: 0 });
      if (!latest.pending && !latest.enabled) {
        go(OVERVIEW);
        setError(message);
        return;
      }
      setError(response.status === 422 ? "Enter the 6-digit code your authenticator app shows now." : message);
    });

  const renewCodes = (password: string) =>
    attempt(async () => {
      const { data, error: refused, response } = await api.POST("/users/me/mfa/recovery-codes", {
        body: { current_password: password },
      });
      if (!data) return setError(errorMessage(refused, `Refused (${response.status}).`));
      go({ kind: "codes", codes: data.recovery_codes }, "New recovery codes made; the old ones no longer work.");
      await refresh();
    });

  const turnOff = (password: string) =>
    attempt(async () => {
      const { error: refused, response } = await api.POST("/users/me/mfa/disable", {
        body: { current_password: password },
      });
      if (!response.ok) return setError(errorMessage(refused, `Refused (${response.status}).`));
      go(OVERVIEW, "Two-factor authentication is off. Your other sessions were logged out.");
      await refresh();
    });

  if (status.isPending) return <Loading what="Reading your two-factor settings" />;
  if (status.isError) return <ErrorBanner error={status.error} />;
  const mfa = status.data;
  const cancel = () => go(OVERVIEW);

  switch (mode.kind) {
    case "enrol-password":
      return (
        <CurrentPasswordStep
          id="mfa-enrol-password"
          intro="Confirm it is you: enter your current password to set up an authenticator app."
          submitLabel="Continue"
          busy={busy}
          error={error}
          onSubmit={startEnrolment}
          onCancel={cancel}
        />
      );
    case "enrol-scan":
      return (
        <EnrolmentStep enrolment={mode.enrolment} busy={busy} error={error} onConfirm={confirm} onCancel={cancel} />
      );
    case "codes":
      return (
        <>
          {notice ? <Notice kind="success">{notice}</Notice> : null}
          <RecoveryCodesOnce
            codes={mode.codes}
            username={session?.username ?? "account"}
            onSaved={() => go(OVERVIEW)}
          />
        </>
      );
    case "renew-password":
      return (
        <CurrentPasswordStep
          id="mfa-renew-password"
          intro="New recovery codes replace all the old ones. Enter your current password to continue."
          submitLabel="Make new recovery codes"
          busy={busy}
          error={error}
          onSubmit={renewCodes}
          onCancel={cancel}
        />
      );
    case "disable-password":
      return (
        <CurrentPasswordStep
          id="mfa-disable-password"
          intro="Without a second factor, your password alone will log you in. Enter your current password to turn it off."
          submitLabel="Turn off"
          danger
          busy={busy}
          error={error}
          onSubmit={turnOff}
          onCancel={cancel}
        />
      );
    case "overview":
      return (
        <div>
          {notice ? <Notice kind="success">{notice}</Notice> : null}
          {error ? (
            <div className="banner error" role="alert">
              {error}
            </div>
          ) : null}
          {mfa.enabled ? (
            <>
              <p>
                Two-factor authentication is <strong>on</strong>: logging in needs your password and a code from
                your authenticator app. Recovery codes left: <strong>{mfa.recovery_codes_left}</strong>
                {mfa.recovery_codes_left <= 3 ? " — make new ones before you run out." : "."}
              </p>
              <div className="form-actions">
                {can("POST", "/users/me/mfa/recovery-codes") ? (
                  <button type="button" onClick={() => go({ kind: "renew-password" })}>
                    New recovery codes
                  </button>
                ) : null}
                {can("POST", "/users/me/mfa/disable") ? (
                  <button type="button" className="danger" onClick={() => go({ kind: "disable-password" })}>
                    Turn off two-factor authentication
                  </button>
                ) : null}
              </div>
            </>
          ) : (
            <>
              <p>
                Two-factor authentication is <strong>off</strong>. Turn it on so that a stolen password alone
                cannot open your account: logging in will also ask for a code from an authenticator app.
              </p>
              {mfa.pending ? <p className="muted">A setup was started but not finished; start it again.</p> : null}
              {can("POST", "/users/me/mfa/enrolment") ? (
                <button type="button" className="primary" onClick={() => go({ kind: "enrol-password" })}>
                  Set up two-factor authentication
                </button>
              ) : null}
            </>
          )}
        </div>
      );
  }
}

function EnrolmentStep({
  enrolment,
  busy,
  error,
  onConfirm,
  onCancel,
}: {
  enrolment: Schemas["MfaEnrolment"];
  busy: boolean;
  error: string | null;
  onConfirm: (code: string) => void;
  onCancel: () => void;
}) {
  const [code, setCode] = useState("");
  function submit(event: FormEvent) {
    event.preventDefault();
    onConfirm(code.replace(/\s+/g, ""));
  }
  return (
    <div className="mfa-enrol">
      <img className="mfa-qr" src={svgDataUrl(enrolment.qr_svg)} alt="QR code to scan with your authenticator app" />
      <form className="form" onSubmit={submit}>
        <p>
          1. Scan the QR code with an authenticator app (for example Aegis, 1Password, Google Authenticator). If you
          cannot scan it, enter this key by hand:
        </p>
        <p>
          <code className="mfa-secret" data-testid="mfa-secret">
            {enrolment.secret}
          </code>
        </p>
        <p>2. Enter the 6-digit code the app shows, to check that it works.</p>
        <AuthCodeField id="mfa-confirm-code" label="Authentication code" error={error} value={code} onChange={setCode} autoFocus />
        <SubmitOrCancel label="Turn on" busyLabel="Checking…" busy={busy} onCancel={onCancel} />
      </form>
    </div>
  );
}
