// The buttons under an account form: submit (with its busy wording while the request runs),
// then the way out.
export function SubmitOrCancel({
  label,
  busyLabel,
  busy,
  danger = false,
  cancelLabel = "Cancel",
  onCancel,
}: {
  label: string;
  busyLabel: string;
  busy: boolean;
  danger?: boolean;
  cancelLabel?: string;
  onCancel: () => void;
}) {
  return (
    <div className="form-actions">
      <button type="submit" className={danger ? "danger" : "primary"} disabled={busy}>
        {busy ? busyLabel : label}
      </button>
      <button type="button" onClick={onCancel}>
        {cancelLabel}
      </button>
    </div>
  );
}
