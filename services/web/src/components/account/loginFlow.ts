// The steps of logging in, without the DOM: the password, then (when the account has MFA)
// a code from the authenticator or one of the recovery codes.
import { api } from "../../api/client";
import { errorMessage } from "../../api/errors";

export type LoginStep =
  | { kind: "password" }
  | { kind: "code"; mfaToken: string }
  | { kind: "recovery"; mfaToken: string };

export type LoginOutcome =
  /** Logged in: the session cookies are set. */
  | { kind: "done"; mustChangePassword: boolean }
  /** Go on (or back) to this step, with a message when something was refused. */
  | { kind: "step"; step: LoginStep; error: string | null };

export const PASSWORD_STEP: LoginStep = { kind: "password" };

function refusal(status: number, body: unknown): string {
  if (status === 429) return errorMessage(body, "Too many attempts; wait a little and try again.");
  if (status === 401) return errorMessage(body, "Wrong username or password.");
  if (status >= 500 || status === 0) return "The server could not be reached; try again in a moment.";
  return errorMessage(body, "The login was refused.");
}

/** First step: the username and password. */
export async function submitPassword(username: string, password: string): Promise<LoginOutcome> {
  try {
    const { data, error, response } = await api.POST("/auth/login", { body: { username, password } });
    if (!response.ok || !data) return { kind: "step", step: PASSWORD_STEP, error: refusal(response.status, error) };
    if (data.mfa_required && data.mfa_token) {
      return { kind: "step", step: { kind: "code", mfaToken: data.mfa_token }, error: null };
    }
    return { kind: "done", mustChangePassword: data.must_change_password ?? false };
  } catch {
    return { kind: "step", step: PASSWORD_STEP, error: refusal(0, null) };
  }
}

/** The API says when the pending login is gone (expired, or too many wrong codes). */
function needsPasswordAgain(body: unknown): boolean {
  return /password again/i.test(errorMessage(body, ""));
}

/** Second step: the authenticator's code, or a recovery code, for the pending login. */
export async function submitSecondFactor(step: LoginStep, value: string): Promise<LoginOutcome> {
  if (step.kind === "password") return { kind: "step", step, error: null };
  const code = value.replace(/\s+/g, "");
  const body =
    step.kind === "code" ? { mfa_token: step.mfaToken, code } : { mfa_token: step.mfaToken, recovery_code: value.trim() };
  try {
    const { data, error, response } = await api.POST("/auth/login/mfa", { body });
    if (response.ok && data?.logged_in) return { kind: "done", mustChangePassword: data.must_change_password ?? false };
    if (response.status === 401 && needsPasswordAgain(error)) {
      return { kind: "step", step: PASSWORD_STEP, error: errorMessage(error) };
    }
    if (response.status === 422) {
      const what = step.kind === "code" ? "Enter the 6-digit code from your authenticator app." : "Enter one of your recovery codes.";
      return { kind: "step", step, error: what };
    }
    return { kind: "step", step, error: refusal(response.status, error) };
  } catch {
    return { kind: "step", step, error: refusal(0, null) };
  }
}

/** Switch between the authenticator code and a recovery code (same pending login). */
export function toggleRecovery(step: LoginStep): LoginStep {
  if (step.kind === "code") return { kind: "recovery", mfaToken: step.mfaToken };
  if (step.kind === "recovery") return { kind: "code", mfaToken: step.mfaToken };
  return step;
}
