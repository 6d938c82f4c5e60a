// Step 4: confirm. A restore that overwrites something needs the target's name typed again (only
// the exact name enables the button); one into a new name overwrites nothing: a Confirm button.
import { useState } from "react";
import { Field } from "../ui";
import { confirmNameMatches, needsTypedName, type RestorePreview } from "./wizard";

export function ConfirmStep({
  preview,
  locked,
  busy,
  nameError,
  onConfirm,
  onBack,
}: {
  preview: RestorePreview;
  locked: boolean;
  busy: boolean;
  nameError: string | null;
  /** `typedName`: the name typed again, or null when none was needed. */
  onConfirm: (typedName: string | null) => void;
  onBack: () => void;
}) {
  const [typed, setTyped] = useState("");
  const typing = needsTypedName(preview);
  const ready = !typing || confirmNameMatches(typed, preview.confirm_name);
  return (
    <form
      className="form"
      onSubmit={(e) => {
        e.preventDefault();
        if (ready && !locked && !busy) onConfirm(typing ? typed : null);
      }}
    >
      {typing ? (
        <>
          <p>
            {preview.summary} To go ahead, type <code>{preview.confirm_name}</code> below.
          </p>
          <Field label="Type the target name to confirm" htmlFor="restore-confirm-name" error={nameError}>
            <input
              id="restore-confirm-name"
              value={typed}
              onChange={(e) => setTyped(e.target.value)}
              autoComplete="off"
              spellCheck={false}
              autoFocus
            />
          </Field>
        </>
      ) : (
        <p>{preview.summary}</p>
      )}
      <div className="row">
        <button type="button" onClick={onBack}>
          Back
        </button>
        <button type="submit" className={typing ? "danger" : "primary"} disabled={!ready || locked || busy}>
          {busy ? "Starting…" : typing ? "Restore" : "Confirm"}
        </button>
      </div>
    </form>
  );
}
