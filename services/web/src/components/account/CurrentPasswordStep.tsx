// "Confirm it is you": the current password before a change to the second factor.
import { useState, type FormEvent, type ReactNode } from "react";
import { PasswordField } from "./credentialFields";

export function CurrentPasswordStep({
  id,
  intro,
  submitLabel,
  danger = false,
  busy,
  error,
  onSubmit,
  onCancel,
}: {
  id: string;
  intro: ReactNode;
  submitLabel: string;
  danger?: boolean;
  busy: boolean;
  error: string | null;
  onSubmit: (password: string) => void;
  onCancel: () => void;
}) {
  const [password, setPassword] = useState("");
  function submit(event: FormEvent) {
    event.preventDefault();
    onSubmit(password);
  }
  return (
    <form className="form" onSubmit={submit}>
      <p>{intro}</p>
      <PasswordField id={id} label="Current password" autoComplete="current-password" error={error} value={password} onChange={setPassword} autoFocus />
      <div className="form-actions">
        <button type="submit" className={danger ? "danger" : "primary"} disabled={busy}>
          {busy ? "Checking…" : submitLabel}
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
