// The inputs that take a secret from the person at the keyboard: a password, or the code of an
// authenticator app. One definition each, so the browser's password manager and the phone's
// one-time-code autofill see the same attributes everywhere.
import { Field } from "../ui";

interface CredentialFieldProps {
  id: string;
  label: string;
  value: string;
  onChange: (value: string) => void;
  error?: string | null;
  hint?: string;
  /** The form field name, where a password manager should recognise it. */
  name?: string;
  autoFocus?: boolean;
}

/** A password input; `autoComplete` says whether it is the current password or a new one. */
export function PasswordField({
  autoComplete,
  ...props
}: CredentialFieldProps & { autoComplete: "current-password" | "new-password" }) {
  return (
    <Field label={props.label} htmlFor={props.id} error={props.error} hint={props.hint}>
      <input
        id={props.id}
        name={props.name}
        type="password"
        autoComplete={autoComplete}
        autoFocus={props.autoFocus}
        required
        value={props.value}
        onChange={(e) => props.onChange(e.target.value)}
      />
    </Field>
  );
}

/** The 6-digit code of an authenticator app (a space in the middle is allowed). */
export function AuthCodeField(props: CredentialFieldProps) {
  return (
    <Field label={props.label} htmlFor={props.id} error={props.error} hint={props.hint}>
      <input
        id={props.id}
        name={props.name}
        inputMode="numeric"
        autoComplete="one-time-code"
        pattern="[0-9 ]{6,7}"
        maxLength={7}
        autoFocus={props.autoFocus}
        required
        value={props.value}
        onChange={(e) => props.onChange(e.target.value)}
      />
    </Field>
  );
}
