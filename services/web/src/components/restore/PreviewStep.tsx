// Step 3: what the restore would do, in plain words, before anything happens.
import { formatBytes, formatDateTime, formatRelative } from "../../lib/format";
import { Sha256 } from "../backups/Sha256";
import { Notice } from "../ui";
import type { RestorePreview } from "./wizard";

export function PreviewStep({
  preview,
  locked,
  onContinue,
  onBack,
}: {
  preview: RestorePreview;
  locked: boolean;
  onContinue: () => void;
  onBack: () => void;
}) {
  const { archive, target } = preview;
  return (
    <div className="restore-preview">
      <Notice kind={preview.overwrites ? "warning" : "info"}>
        <strong>{preview.summary}</strong>
      </Notice>
      {preview.fallback ? (
        // The host did not say what uses the target now: a container created minutes ago may be missing below.
        <Notice kind="warning">
          <strong>Not checked on the host.</strong> {preview.fallback}
        </Notice>
      ) : null}
      <dl className="facts">
        <dt>Target</dt>
        <dd>
          {target.kind} <strong>{target.name}</strong> on host {archive.host_id} —{" "}
          {preview.target_exists ? "exists now" : "does not exist yet (it is created)"}
        </dd>
        {preview.storage ? (
          <>
            <dt>Written to</dt>
            <dd>{preview.storage}</dd>
          </>
        ) : null}
        {preview.original_storage ? (
          <>
            <dt>The original keeps its data in</dt>
            <dd>{preview.original_storage}</dd>
          </>
        ) : null}
        <dt>Overwritten</dt>
        <dd>{preview.overwrites ? <strong>Yes: existing data is replaced</strong> : "Nothing existing is overwritten"}</dd>
        <dt>Containers stopped and restarted</dt>
        <dd>{preview.stops.length ? <strong>{preview.stops.join(", ")}</strong> : "None"}</dd>
        {preview.container ? (
          <>
            <dt>Existing container</dt>
            <dd>
              {preview.container.container_name} ({preview.container.running ? "running" : "stopped"})
              {preview.container.will_stop ? ", stopped and replaced" : ", replaced"}
            </dd>
          </>
        ) : null}
        <dt>Volumes written</dt>
        <dd>
          {preview.volumes.length === 0 ? (
            "None"
          ) : (
            <ul className="plain">
              {preview.volumes.map((v) => (
                <li key={v.name}>
                  {v.name}: {v.overwritten ? "overwritten" : v.exists ? "exists, kept" : "created"}
                  {v.used_by.length
                    ? ` — used by ${v.used_by
                        .map((u) => `${u.container_name} (${u.running ? "running" : "stopped"}${u.will_stop ? ", stopped and restarted" : ""})`)
                        .join(", ")}`
                    : ""}
                </li>
              ))}
            </ul>
          )}
        </dd>
        <dt>Backup</dt>
        <dd>
          {archive.resource_kind} {archive.resource_name} ({archive.kind} {archive.role}), {formatDateTime(archive.created_at)}
        </dd>
        <dt>Size</dt>
        <dd>{formatBytes(archive.size_bytes)}</dd>
        <dt>sha256</dt>
        <dd>
          <Sha256 value={archive.sha256} />
        </dd>
        <dt>Verified</dt>
        <dd>{archive.verified_at ? formatDateTime(archive.verified_at) : "never"}</dd>
        {preview.fetch_from && preview.fetch_from.length ? (
          <>
            <dt>Downloaded first from</dt>
            <dd>{preview.fetch_from.join(" or ")}</dd>
          </>
        ) : null}
        <dt>Target and its users as of</dt>
        <dd>
          {preview.checked_on_host && preview.checked_at
            ? `${formatDateTime(preview.checked_at)}, checked on the host`
            : `${preview.inventory_at ? formatDateTime(preview.inventory_at) : "unknown"}, the host's last inventory`}
        </dd>
        <dt>Preview expires</dt>
        <dd>
          {formatDateTime(preview.expires_at)} ({formatRelative(preview.expires_at)})
        </dd>
      </dl>
      {preview.warnings.length ? (
        <Notice kind="warning">
          <strong>Warnings</strong>
          <ul>
            {preview.warnings.map((w) => (
              <li key={w}>{w}</li>
            ))}
          </ul>
        </Notice>
      ) : null}
      <div className="row">
        <button type="button" onClick={onBack}>
          Back
        </button>
        <button type="button" className="primary" disabled={locked} onClick={onContinue}>
          Continue
        </button>
      </div>
    </div>
  );
}
