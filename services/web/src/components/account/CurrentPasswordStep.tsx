// "Confirm it is you": the current password before a change to the second factor.
import { useState, type FormEvent, type ReactNode } from "react";
import { PasswordField } from "./credentialFields";
import { SubmitOrCancel } from "./SubmitOrCancel";

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
      <SubmitOrCancel label={submitLabel} busyLabel="Checking…" busy={busy} danger={danger} onCancel={onCancel} />
    </form>
  );
}
