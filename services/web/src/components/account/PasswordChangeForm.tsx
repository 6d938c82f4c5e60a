// Change one's own password (needs the current one). Used by the forced change and the account page.
import { useState, type FormEvent, type ReactNode } from "react";
import { Field } from "../ui";
import { api } from "../../api/client";
import { checkNewPasswords, passwordChangeErrors, type PasswordChangeErrors } from "./passwordErrors";

export const PASSWORD_RULES = "At least 12 characters; not a common password and not your username.";

export function PasswordChangeForm({
  idPrefix,
  onChanged,
  extraActions,
}: {
  idPrefix: string;
  /** After the API accepted the new password (this session stays logged in). */
  onChanged: (newPassword: string) => Promise<void> | void;
  extraActions?: ReactNode;
}) {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [repeat, setRepeat] = useState("");
  const [errors, setErrors] = useState<PasswordChangeErrors>({});
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const mismatch = checkNewPasswords(next, repeat);
    setErrors(mismatch);
    if (Object.keys(mismatch).length) return;
    setBusy(true);
    try {
      const { error, response } = await api.POST("/users/me/password", {
        body: { current_password: current, new_password: next },
      });
      if (!response.ok) {
        setErrors(passwordChangeErrors(response.status, error));
        return;
      }
      setCurrent("");
      setNext("");
      setRepeat("");
      await onChanged(next);
    } catch {
      setErrors({ general: "The server could not be reached; try again." });
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="form" onSubmit={submit} aria-label="Change password">
      {errors.general ? (
        <div className="banner error" role="alert">
          {errors.general}
        </div>
      ) : null}
      <Field label="Current password" htmlFor={`${idPrefix}-current`} error={errors.current}>
        <input
          id={`${idPrefix}-current`}
          type="password"
          autoComplete="current-password"
          required
          value={current}
          onChange={(e) => setCurrent(e.target.value)}
        />
      </Field>
      <Field label="New password" htmlFor={`${idPrefix}-new`} error={errors.next} hint={PASSWORD_RULES}>
        <input
          id={`${idPrefix}-new`}
          type="password"
          autoComplete="new-password"
          required
          value={next}
          onChange={(e) => setNext(e.target.value)}
        />
      </Field>
      <Field label="Repeat new password" htmlFor={`${idPrefix}-repeat`} error={errors.repeat}>
        <input
          id={`${idPrefix}-repeat`}
          type="password"
          autoComplete="new-password"
          required
          value={repeat}
          onChange={(e) => setRepeat(e.target.value)}
        />
      </Field>
      <div className="form-actions">
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Changing…" : "Change password"}
        </button>
        {extraActions}
      </div>
    </form>
  );
}
