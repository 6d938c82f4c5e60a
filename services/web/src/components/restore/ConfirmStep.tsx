// Step 4: type the target's name again; only the exact name enables the button.
import { useState } from "react";
import { Field } from "../ui";
import { confirmNameMatches, type RestorePreview } from "./wizard";

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
  onConfirm: (typedName: string) => void;
  onBack: () => void;
}) {
  const [typed, setTyped] = useState("");
  const matches = confirmNameMatches(typed, preview.confirm_name);
  return (
    <form
      className="form"
      onSubmit={(e) => {
        e.preventDefault();
        if (matches && !locked && !busy) onConfirm(typed);
      }}
    >
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
      <div className="row">
        <button type="button" onClick={onBack}>
          Back
        </button>
        <button type="submit" className="danger" disabled={!matches || locked || busy}>
          {busy ? "Starting…" : "Restore"}
        </button>
      </div>
    </form>
  );
}
