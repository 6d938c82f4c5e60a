// Log in: the password, then (for accounts with MFA) the authenticator's code or a recovery code.
import { useState, type FormEvent } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { Navigate, useNavigate, useSearchParams } from "react-router-dom";
import { SESSION_KEY, useSession, type Session } from "../auth/session";
import { Field, Loading } from "../components/ui";
import {
  PASSWORD_STEP,
  submitPassword,
  submitSecondFactor,
  toggleRecovery,
  type LoginOutcome,
  type LoginStep,
} from "../components/account/loginFlow";
import { safeNextPath } from "../components/account/nextPath";
import { AuthCodeField, PasswordField } from "../components/account/credentialFields";
import "../components/account/account.css";

/** Shown when the gateway accepted the login but the new session could not be read back. */
export const SESSION_UNREADABLE = "You were logged in, but your session could not be read; log in again.";

export function LoginPage() {
  const { session, loading, reload } = useSession();
  const client = useQueryClient();
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const [step, setStep] = useState<LoginStep>(PASSWORD_STEP);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // Set once this page logged the user in, so the redirect below honours `next`.
  const [destination, setDestination] = useState<string | null>(null);

  if (loading && destination === null) return <Loading what="Checking your session" />;
  if (session) return <Navigate to={destination ?? "/"} replace />;

  async function follow(outcome: LoginOutcome) {
    if (outcome.kind === "step") {
      setStep(outcome.step);
      setError(outcome.error);
      return;
    }
    const to = outcome.mustChangePassword ? "/change-password" : safeNextPath(params.get("next"));
    setDestination(to);
    await reload();
    if (!client.getQueryData<Session | null>(SESSION_KEY)) {
      // Going on would land on a page that sends us back here without a word: say it here.
      setDestination(null);
      setStep(PASSWORD_STEP);
      setError(SESSION_UNREADABLE);
      return;
    }
    navigate(to, { replace: true });
  }

  async function run(action: () => Promise<LoginOutcome>) {
    setBusy(true);
    try {
      await follow(await action());
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="auth-screen">
      <div className="auth-card">
        <div className="auth-brand">DockBack</div>
        {step.kind === "password" ? (
          <PasswordStep busy={busy} error={error} onSubmit={(u, p) => run(() => submitPassword(u, p))} />
        ) : (
          <SecondFactorStep
            key={step.kind}
            step={step}
            busy={busy}
            error={error}
            onSubmit={(value) => run(() => submitSecondFactor(step, value))}
            onToggle={() => {
              setStep(toggleRecovery(step));
              setError(null);
            }}
            onRestart={() => {
              setStep(PASSWORD_STEP);
              setError(null);
            }}
          />
        )}
      </div>
    </div>
  );
}

function FormError({ error }: { error: string | null }) {
  if (!error) return null;
  return (
    <div className="banner error" role="alert">
      {error}
    </div>
  );
}

function PasswordStep({
  busy,
  error,
  onSubmit,
}: {
  busy: boolean;
  error: string | null;
  onSubmit: (username: string, password: string) => void;
}) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  function submit(event: FormEvent) {
    event.preventDefault();
    onSubmit(username.trim(), password);
  }
  return (
    <form onSubmit={submit} aria-label="Log in">
      <h1>Log in</h1>
      <FormError error={error} />
      <Field label="Username" htmlFor="login-username">
        <input
          id="login-username"
          name="username"
          autoComplete="username"
          autoFocus
          required
          value={username}
          onChange={(e) => setUsername(e.target.value)}
        />
      </Field>
      <PasswordField id="login-password" name="password" label="Password" autoComplete="current-password" value={password} onChange={setPassword} />
      <button type="submit" className="primary wide" disabled={busy}>
        {busy ? "Logging in…" : "Log in"}
      </button>
    </form>
  );
}

function SecondFactorStep({
  step,
  busy,
  error,
  onSubmit,
  onToggle,
  onRestart,
}: {
  step: LoginStep;
  busy: boolean;
  error: string | null;
  onSubmit: (value: string) => void;
  onToggle: () => void;
  onRestart: () => void;
}) {
  const [value, setValue] = useState("");
  const recovery = step.kind === "recovery";
  function submit(event: FormEvent) {
    event.preventDefault();
    onSubmit(value);
  }
  return (
    <form onSubmit={submit} aria-label="Second factor">
      <h1>Two-factor authentication</h1>
      <FormError error={error} />
      {recovery ? (
        <Field label="Recovery code" htmlFor="login-recovery" hint="One of the codes you saved when you turned on two-factor authentication; each works once.">
          <input
            id="login-recovery"
            name="recovery-code"
            autoComplete="off"
            autoCapitalize="none"
            spellCheck={false}
            autoFocus
            required
            value={value}
            onChange={(e) => setValue(e.target.value)}
          />
        </Field>
      ) : (
        <AuthCodeField
          id="login-code"
          name="code"
          label="Authentication code"
          hint="The 6-digit code your authenticator app shows now."
          value={value}
          onChange={setValue}
          autoFocus
        />
      )}
      <button type="submit" className="primary wide" disabled={busy}>
        {busy ? "Checking…" : "Verify"}
      </button>
      <div className="auth-alternatives">
        <button type="button" className="link" onClick={onToggle}>
          {recovery ? "Use the authenticator app" : "Use a recovery code"}
        </button>
        <button type="button" className="link" onClick={onRestart}>
          Start over
        </button>
      </div>
    </form>
  );
}
