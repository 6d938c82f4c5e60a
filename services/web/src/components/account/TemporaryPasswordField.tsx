// A temporary password an admin hands over: typed, or generated with one click.
// Used when creating a user and when resetting one's password.
import { Field } from "../ui";
import { temporaryPassword } from "./temporaryPassword";

export function TemporaryPasswordField({
  id,
  label,
  hint,
  error,
  value,
  onChange,
  autoFocus,
}: {
  id: string;
  label: string;
  hint: string;
  error: string | null | undefined;
  value: string;
  onChange: (password: string) => void;
  autoFocus?: boolean;
}) {
  return (
    <Field label={label} htmlFor={id} error={error} hint={hint}>
      <div className="row">
        <input
          id={id}
          autoComplete="off"
          spellCheck={false}
          required
          autoFocus={autoFocus}
          value={value}
          onChange={(e) => onChange(e.target.value)}
        />
        <button type="button" onClick={() => onChange(temporaryPassword())}>
          Generate
        </button>
      </div>
    </Field>
  );
}
