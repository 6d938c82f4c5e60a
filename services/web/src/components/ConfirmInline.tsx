// A destructive action asked twice, the same way on every page: the button, then in its place
// the question with "yes" and "no" buttons (no browser dialog, so it reads like the rest of the UI).
import { useState } from "react";
import "./confirm.css";

export interface ConfirmInlineProps {
  /** The button's text, e.g. "Delete". */
  label: string;
  /** The question shown after a click, e.g. "Delete nightly? Its backups stay." */
  question: string;
  /** The group's accessible name while asking. */
  groupLabel: string;
  confirmLabel: string;
  keepLabel: string;
  onConfirm: () => void;
  busy?: boolean;
  disabled?: boolean;
  /** Class of the first button ("small", "danger", "small danger"). */
  className?: string;
}

export function ConfirmInline({
  label,
  question,
  groupLabel,
  confirmLabel,
  keepLabel,
  onConfirm,
  busy = false,
  disabled = false,
  className = "small",
}: ConfirmInlineProps) {
  const [asking, setAsking] = useState(false);
  if (!asking) {
    return (
      <button type="button" className={className} disabled={disabled || busy} onClick={() => setAsking(true)}>
        {label}
      </button>
    );
  }
  return (
    <span className="confirm-inline" role="group" aria-label={groupLabel}>
      <span>{question}</span>
      <button
        type="button"
        className="small danger"
        disabled={busy}
        onClick={() => {
          onConfirm();
          setAsking(false);
        }}
      >
        {confirmLabel}
      </button>
      <button type="button" className="small" onClick={() => setAsking(false)}>
        {keepLabel}
      </button>
    </span>
  );
}
