// Change one's own password (needs the current one). Used by the forced change and the account page.
import { useState, type FormEvent, type ReactNode } from "react";
import { PasswordField } from "./credentialFields";
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
      <PasswordField
        id={`${idPrefix}-current`}
        label="Current password"
        autoComplete="current-password"
        error={errors.current}
        value={current}
        onChange={setCurrent}
      />
      <PasswordField
        id={`${idPrefix}-new`}
        label="New password"
        autoComplete="new-password"
        error={errors.next}
        hint={PASSWORD_RULES}
        value={next}
        onChange={setNext}
      />
      <PasswordField
        id={`${idPrefix}-repeat`}
        label="Repeat new password"
        autoComplete="new-password"
        error={errors.repeat}
        value={repeat}
        onChange={setRepeat}
      />
      <div className="form-actions">
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Changing…" : "Change password"}
        </button>
        {extraActions}
      </div>
    </form>
  );
}
