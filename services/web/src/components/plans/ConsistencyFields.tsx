// How a backup is taken: its format, compression, stopping containers, and commands run before
// and after (a database dump before, for instance).
import { Field } from "../ui";
import { emptyHook, errorUnder, type HookForm, type PlanForm } from "./planForm";
import { InputField } from "../InputField";

export function ConsistencyFields({
  form,
  onChange,
  readOnly,
  adminOnlyReadOnly = readOnly,
  errors,
  containers,
}: {
  form: PlanForm;
  onChange: (patch: Partial<PlanForm>) => void;
  readOnly: boolean;
  /** Hooks and bind mounts: only an admin changes them (the API refuses anyone else). */
  adminOnlyReadOnly?: boolean;
  errors: Record<string, string>;
  /** Container names on the plan's host, offered for the hook commands. */
  containers: string[];
}) {
  return (
    <fieldset className="plan-section">
      <legend>Format, consistency and compression</legend>
      {errors.options ? (
        <div className="field-error" role="alert">
          {errors.options}
        </div>
      ) : null}
      <Field label="Format" htmlFor="plan-format" error={errorUnder(errors, "options.format")}>
        <select
          id="plan-format"
          value={form.format}
          disabled={readOnly}
          onChange={(event) => onChange({ format: event.target.value as PlanForm["format"] })}
        >
          <option value="archive">Archive</option>
          <option value="repository">Repository (restic)</option>
        </select>
      </Field>
      {form.format === "archive" ? (
        <p className="hint" id="plan-format-hint">
          Each run writes a full tar archive of every volume, config and image.
        </p>
      ) : (
        <p className="hint" id="plan-format-hint">
          Each run saves a snapshot of every volume (and image) into this plan's own restic repository on its host:
          unchanged files are not read or stored again, and everything is encrypted with the repository's password,
          which DockBack makes and keeps. A container's settings stay an archive. Compression is restic's own.
        </p>
      )}
      <div className="row">
        <Field label="Compression" htmlFor="plan-compression" error={errorUnder(errors, "options.compression")}>
          <select
            id="plan-compression"
            value={form.compression}
            disabled={readOnly}
            onChange={(event) => onChange({ compression: event.target.value as PlanForm["compression"] })}
          >
            <option value="zstd">zstd</option>
            <option value="gzip">gzip</option>
            <option value="none">none</option>
          </select>
        </Field>
        <InputField
          id="plan-compression-level"
          label="Compression level"
          hint="Empty: the compressor's default"
          error={errorUnder(errors, "options.compression_level")}
          value={form.compressionLevel}
          onValue={(compressionLevel) => onChange({ compressionLevel })}
          readOnly={readOnly}
          type="number"
          min={-7}
          max={22}
        />
      </div>
      <Check
        id="plan-stop-containers"
        label="Stop containers during the backup"
        hint="Stops the containers using a volume (and those labelled dockback.stop-during-backup=true), restarts those that ran"
        checked={form.stopContainers}
        readOnly={readOnly}
        onChange={(stopContainers) => onChange({ stopContainers })}
        error={errorUnder(errors, "options.stop_containers")}
      />
      <Check
        id="plan-include-image"
        label="Include the container's image"
        checked={form.includeImage}
        readOnly={readOnly}
        onChange={(includeImage) => onChange({ includeImage })}
        error={errorUnder(errors, "options.include_image")}
      />
      <Check
        id="plan-include-bind-mounts"
        label="Include bind mounts"
        checked={form.includeBindMounts}
        readOnly={adminOnlyReadOnly}
        onChange={(includeBindMounts) => onChange({ includeBindMounts })}
        error={errorUnder(errors, "options.include_bind_mounts")}
      />
      <Check
        id="plan-restore-special-bits"
        label="Restores may write setuid and setgid files (admins only)"
        checked={form.restoreSpecialBits}
        readOnly={adminOnlyReadOnly}
        onChange={(restoreSpecialBits) => onChange({ restoreSpecialBits })}
        error={errorUnder(errors, "restore_special_bits")}
      />
      {adminOnlyReadOnly && !readOnly ? (
        <p className="hint">
          Only an admin sets bind mounts and the commands run before and after a backup (they run as root);
          their arguments are shown to admins only. You can change the rest of the plan.
        </p>
      ) : null}
      <datalist id="plan-hook-containers">
        {containers.map((name) => (
          <option key={name} value={name} />
        ))}
      </datalist>
      <HookList
        title="Commands before the backup"
        which="Before"
        hooks={form.preCommands}
        onChange={(preCommands) => onChange({ preCommands })}
        readOnly={adminOnlyReadOnly}
        errors={errors}
        errorPrefix="options.pre_commands"
      />
      <HookList
        title="Commands after the backup"
        which="After"
        hooks={form.postCommands}
        onChange={(postCommands) => onChange({ postCommands })}
        readOnly={adminOnlyReadOnly}
        errors={errors}
        errorPrefix="options.post_commands"
      />
    </fieldset>
  );
}

export function Check({
  id,
  label,
  hint,
  checked,
  readOnly,
  onChange,
  error,
}: {
  id: string;
  label: string;
  hint?: string;
  checked: boolean;
  readOnly: boolean;
  onChange: (checked: boolean) => void;
  error?: string;
}) {
  return (
    <div className={`field check ${error ? "has-error" : ""}`}>
      <div>
        <input id={id} type="checkbox" checked={checked} disabled={readOnly} onChange={(e) => onChange(e.target.checked)} />{" "}
        <label htmlFor={id}>{label}</label>
      </div>
      {hint ? <div className="hint">{hint}</div> : null}
      {error ? (
        <div className="field-error" role="alert">
          {error}
        </div>
      ) : null}
    </div>
  );
}

function HookList({
  title,
  which,
  hooks,
  onChange,
  readOnly,
  errors,
  errorPrefix,
}: {
  title: string;
  which: string;
  hooks: HookForm[];
  onChange: (hooks: HookForm[]) => void;
  readOnly: boolean;
  errors: Record<string, string>;
  errorPrefix: string;
}) {
  const update = (index: number, patch: Partial<HookForm>) =>
    onChange(hooks.map((hook, i) => (i === index ? { ...hook, ...patch } : hook)));
  const listError = errors[errorPrefix];
  return (
    <div className="hook-list">
      <h3>{title}</h3>
      {hooks.length === 0 ? <p className="hint">None.</p> : null}
      {listError ? (
        <div className="field-error" role="alert">
          {listError}
        </div>
      ) : null}
      {hooks.map((hook, index) => {
        const n = index + 1;
        const prefix = `${errorPrefix}.${index}`;
        const base = `hook-${which.toLowerCase()}-${index}`;
        return (
          <div className="row hook" key={index}>
            <InputField
              id={`${base}-container`}
              label={`${which} ${n}: container`}
              error={errorUnder(errors, `${prefix}.container`)}
              value={hook.container}
              onValue={(container) => update(index, { container })}
              readOnly={readOnly}
              list="plan-hook-containers"
            />
            <InputField
              id={`${base}-command`}
              label={`${which} ${n}: command`}
              hint="Run with docker exec, not a shell: quote arguments with spaces"
              error={errorUnder(errors, `${prefix}.command`)}
              value={hook.command}
              onValue={(command) => update(index, { command })}
              readOnly={readOnly}
              placeholder="pg_dump -f /backup/db.sql app"
            />
            <InputField
              id={`${base}-timeout`}
              label={`${which} ${n}: timeout (s)`}
              error={errorUnder(errors, `${prefix}.timeout_seconds`)}
              value={hook.timeoutSeconds}
              onValue={(timeoutSeconds) => update(index, { timeoutSeconds })}
              readOnly={readOnly}
              type="number"
              min={1}
            />
            <Field label={`${which} ${n}: on error`} htmlFor={`${base}-on-error`} error={errorUnder(errors, `${prefix}.on_error`)}>
              <select
                id={`${base}-on-error`}
                value={hook.onError}
                disabled={readOnly}
                onChange={(event) => update(index, { onError: event.target.value as HookForm["onError"] })}
              >
                <option value="fail">fail the backup</option>
                <option value="continue">continue</option>
              </select>
            </Field>
            {readOnly ? null : (
              <button type="button" className="small" onClick={() => onChange(hooks.filter((_, i) => i !== index))}>
                Remove {which.toLowerCase()} command {n}
              </button>
            )}
          </div>
        );
      })}
      {readOnly ? null : (
        <button type="button" className="small" onClick={() => onChange([...hooks, emptyHook()])}>
          Add a command {which.toLowerCase()} the backup
        </button>
      )}
    </div>
  );
}
