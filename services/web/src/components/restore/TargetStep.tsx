// Step 2: restore over the original, or beside it under a new name.
import type { Schemas } from "../../api/client";
import { formatBytes, formatDateTime } from "../../lib/format";
import { Field } from "../ui";
import { MAX_NAME_LENGTH, originalName, targetKind, type TargetMode } from "./wizard";

type Artifact = Schemas["ArtifactOut"];

const NEW_LABEL: Record<string, string> = { volume: "New volume", container: "New container" };

export function TargetStep({
  artifact,
  mode,
  newName,
  sameStorage,
  backupFirst,
  suggestedName,
  nameError,
  locked,
  busy,
  onMode,
  onNewName,
  onSameStorage,
  onBackupFirst,
  onPreview,
  onBack,
}: {
  artifact: Artifact;
  mode: TargetMode;
  newName: string;
  sameStorage: boolean;
  backupFirst: boolean;
  /** A free name to prefill when "new" is chosen (nothing on the host uses it). */
  suggestedName: string;
  nameError: string | null;
  locked: boolean;
  busy: boolean;
  onMode: (mode: TargetMode, suggestedName?: string) => void;
  onNewName: (name: string) => void;
  onSameStorage: (value: boolean) => void;
  onBackupFirst: (value: boolean) => void;
  onPreview: () => void;
  onBack: () => void;
}) {
  const kind = targetKind(artifact);
  // An image is loaded under the tags it was saved with: there is no new name to give it.
  const newLabel = kind ? NEW_LABEL[kind] : undefined;
  const ready = kind !== null && (mode === "original" || newName.trim() !== "");
  return (
    <form
      className="form"
      onSubmit={(e) => {
        e.preventDefault();
        if (ready && !locked) onPreview();
      }}
    >
      <dl className="facts">
        <dt>Backup of</dt>
        <dd>
          {artifact.resource.kind} {artifact.resource.name} on {artifact.host_id}
        </dd>
        <dt>Part</dt>
        <dd>
          {artifact.kind} ({artifact.role})
        </dd>
        <dt>Created</dt>
        <dd>{formatDateTime(artifact.created_at)}</dd>
        <dt>Size</dt>
        <dd>{formatBytes(artifact.size_bytes)}</dd>
      </dl>
      {kind === null ? (
        <p className="banner warning">DockBack does not restore {artifact.kind} archives; pick another backup.</p>
      ) : (
        <fieldset className="restore-target">
          <legend>Restore to</legend>
          <div className="choice">
            <label>
              <input
                type="radio"
                name="restore-target"
                value="original"
                checked={mode === "original"}
                onChange={() => onMode("original")}
              />{" "}
              Original
            </label>
            <span className="muted">
              — {kind} {originalName(artifact)}, replacing what it holds now
            </span>
          </div>
          {newLabel ? (
            <div className="choice">
              <label>
                <input type="radio" name="restore-target" value="new" checked={mode === "new"} onChange={() => onMode("new", suggestedName)} />{" "}
                {newLabel}
              </label>
              <span className="muted">— beside the original, which is not touched</span>
            </div>
          ) : null}
          {mode === "original" && (kind === "volume" || kind === "container") ? (
            <div className="choice">
              <label>
                <input
                  type="checkbox"
                  name="backup-first"
                  checked={backupFirst}
                  onChange={(e) => onBackupFirst(e.target.checked)}
                />{" "}
                Back up the current data first
              </label>
              <span className="muted">
                {backupFirst
                  ? ` — a backup of what the ${kind === "container" ? "container and its volumes hold" : "volume holds"} now is taken before it is replaced, so you can undo this restore; if that backup fails, nothing is overwritten`
                  : ` — what the ${kind === "container" ? "container and its volumes hold" : "volume holds"} now is lost when it is replaced`}
              </span>
            </div>
          ) : null}
          {mode === "new" && newLabel ? (
            <Field
              label="New name"
              htmlFor="restore-new-name"
              error={nameError}
              hint={
                (kind === "container" ? "Its volumes are restored as <new name>-<volume>. " : "") +
                `Letters, digits, '_', '.' or '-', starting with a letter or a digit; at most ${MAX_NAME_LENGTH} characters.`
              }
            >
              <input
                id="restore-new-name"
                value={newName}
                maxLength={MAX_NAME_LENGTH}
                onChange={(e) => onNewName(e.target.value)}
                autoFocus
              />
            </Field>
          ) : null}
          {mode === "new" && kind === "volume" ? (
            <div className="choice">
              <label>
                <input
                  type="checkbox"
                  name="same-storage"
                  checked={sameStorage}
                  onChange={(e) => onSameStorage(e.target.checked)}
                />{" "}
                Same driver and options as the original
              </label>
              <span className="muted">
                {sameStorage
                  ? " — the new volume writes where the original keeps its data (a bind-mounted host directory or a share); the preview says which"
                  : " — without it the new volume is a plain local volume, a new empty directory"}
              </span>
            </div>
          ) : null}
        </fieldset>
      )}
      <div className="row">
        <button type="button" onClick={onBack}>
          Back
        </button>
        <button type="submit" className="primary" disabled={!ready || locked || busy}>
          {busy ? "Previewing…" : "Preview"}
        </button>
      </div>
    </form>
  );
}
