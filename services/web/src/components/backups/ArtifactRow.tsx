// One archive or snapshot in the catalog, with its actions and (on demand) its remote copies and checks.
// A snapshot (format `repository`) shows its restic id where an archive shows its sha256; a volume's
// snapshot restores into a new volume; checking and deleting single snapshots are not offered.
import { Fragment, useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link } from "react-router-dom";
import { api, type Schemas } from "../../api/client";
import { unwrap } from "../../api/errors";
import { useCan } from "../../auth/session";
import { formatBytes, formatDateTime } from "../../lib/format";
import { afterJobStarted } from "../../lib/invalidate";
import { ConfirmInline } from "../ConfirmInline";
import { ErrorBanner, Loading, StatusBadge } from "../ui";
import { Copies } from "./Copies";
import { Sha256 } from "./Sha256";
import { SnapshotBrowser } from "./SnapshotBrowser";

type Artifact = Schemas["ArtifactOut"];
const COLUMNS = 7;

export function ArtifactRow({ artifact, onResource }: { artifact: Artifact; onResource: (name: string) => void }) {
  const can = useCan();
  const client = useQueryClient();
  const [open, setOpen] = useState(false);
  const [browsing, setBrowsing] = useState(false);
  const verify = useMutation({
    mutationFn: async () =>
      unwrap(await api.POST("/artifacts/{artifact_id}/verify", { params: { path: { artifact_id: artifact.id } } })),
    onSuccess: () => afterJobStarted(client),
  });
  // The backup leaves the list once the gateway accepted the deletion; a refusal (409) stays beside it.
  const remove = useMutation({
    mutationFn: async () =>
      unwrap(await api.DELETE("/artifacts/{artifact_id}", { params: { path: { artifact_id: artifact.id } } })),
    onSuccess: () => Promise.all([afterJobStarted(client), client.invalidateQueries({ queryKey: ["artifacts"] })]),
  });
  const snapshot = artifact.format === "repository";
  // A volume's snapshot restores into a new volume (all of it, or what Browse picks).
  const restorable = artifact.state === "available" && artifact.kind !== "bind" && (!snapshot || artifact.kind === "volume");
  return (
    <Fragment>
      <tr>
        <td>
          <span className="muted">{artifact.resource.kind}</span>{" "}
          <button type="button" className="link" title="Show only this resource" onClick={() => onResource(artifact.resource.name)}>
            {artifact.resource.name}
          </button>
          {artifact.role !== artifact.resource.name ? <div className="muted small">{artifact.kind}: {artifact.role}</div> : null}
          <div className="muted small">on {artifact.host_id}</div>
        </td>
        <td>{formatDateTime(artifact.created_at)}</td>
        <td>
          {formatBytes(artifact.size_bytes)}
          {snapshot ? <div className="muted small">added, of {formatBytes(artifact.raw_bytes)}</div> : null}
        </td>
        <td>
          {snapshot ? (
            <span title={`restic snapshot ${artifact.snapshot_id ?? ""} in repository ${artifact.repository ?? ""}`}>
              snapshot <code>{(artifact.snapshot_id ?? "").slice(0, 8)}</code>
            </span>
          ) : (
            <Sha256 value={artifact.sha256} />
          )}
        </td>
        <td>
          <Copies artifact={artifact} />
        </td>
        <td>
          <Verified artifact={artifact} />
        </td>
        <td className="actions">
          <button type="button" className="small" aria-expanded={open} onClick={() => setOpen(!open)}>
            {open ? "Hide details" : "Details"}
          </button>
          {can("GET", "/artifacts/{artifact_id}/tree") && snapshot && artifact.kind === "volume" && artifact.state === "available" ? (
            <button type="button" className="small" aria-expanded={browsing} onClick={() => setBrowsing(!browsing)}>
              {browsing ? "Stop browsing" : "Browse"}
            </button>
          ) : null}
          {can("POST", "/artifacts/{artifact_id}/verify") && artifact.state === "available" && artifact.local_present && !snapshot ? (
            <button type="button" className="small" disabled={verify.isPending} onClick={() => verify.mutate()}>
              Verify now
            </button>
          ) : null}
          {can("POST", "/restores/preview") && restorable ? (
            <Link className="button small primary" to={`/restore?artifact=${artifact.id}`}>
              Restore
            </Link>
          ) : null}
          {can("DELETE", "/artifacts/{artifact_id}") && artifact.state === "available" && !snapshot ? (
            <ConfirmInline
              label="Delete"
              className="small danger"
              question={`Delete the backup of ${artifact.resource.kind} ${artifact.resource.name}${
                artifact.role !== artifact.resource.name ? ` (${artifact.kind}: ${artifact.role})` : ""
              } from ${formatDateTime(artifact.created_at)} on ${artifact.host_id}? Its archive on the host and every remote copy are deleted for good.`}
              groupLabel={`Delete the backup of ${artifact.resource.name} from ${formatDateTime(artifact.created_at)}?`}
              confirmLabel="Yes, delete it"
              keepLabel="Keep it"
              busy={remove.isPending}
              onConfirm={() => remove.mutate()}
            />
          ) : null}
          {verify.data ? (
            <div className="small">
              Verify started: <Link to={`/jobs/${verify.data.job_id}`}>follow the job</Link>
            </div>
          ) : null}
          {verify.error ? <ErrorBanner error={verify.error} /> : null}
          {remove.error ? <ErrorBanner error={remove.error} /> : null}
        </td>
      </tr>
      {browsing ? (
        <tr className="artifact-detail">
          <td colSpan={COLUMNS}>
            <SnapshotBrowser artifactId={artifact.id} />
          </td>
        </tr>
      ) : null}
      {open ? (
        <tr className="artifact-detail">
          <td colSpan={COLUMNS}>
            <ArtifactDetail id={artifact.id} />
          </td>
        </tr>
      ) : null}
    </Fragment>
  );
}

function Verified({ artifact }: { artifact: Artifact }) {
  if (artifact.verify_failed_at) {
    return (
      <span title={artifact.verify_error ?? undefined}>
        <StatusBadge status="failed" label="check failed" /> {formatDateTime(artifact.verify_failed_at)}
      </span>
    );
  }
  return artifact.verified_at ? (
    <span>
      <StatusBadge status="verified" /> {formatDateTime(artifact.verified_at)}
    </span>
  ) : (
    <span className="muted">never</span>
  );
}

function ArtifactDetail({ id }: { id: string }) {
  const detail = useQuery({
    queryKey: ["artifacts", "detail", id],
    queryFn: async () => unwrap(await api.GET("/artifacts/{artifact_id}", { params: { path: { artifact_id: id } } })),
  });
  if (detail.isPending) return <Loading what="Loading the backup" />;
  if (detail.error) return <ErrorBanner error={detail.error} />;
  const a = detail.data;
  return (
    <div className="grid artifact-detail-grid">
      <dl className="facts">
        <dt>State</dt>
        <dd>{a.state}</dd>
        <dt>On the host</dt>
        <dd>{a.local_present ? a.path : "no longer on the host"}</dd>
        {a.storage ? (
          <>
            <dt>The volume kept its data in</dt>
            <dd>{a.storage}</dd>
          </>
        ) : null}
        <dt>Files</dt>
        <dd>
          {a.file_count}, {formatBytes(a.raw_bytes)} before {a.compression} compression
        </dd>
        <dt>sha256</dt>
        <dd>
          <code className="wrap">{a.sha256}</code>
        </dd>
        <dt>Made by</dt>
        <dd>
          <Link to={`/jobs/${a.job_id}`}>backup job</Link>
          {a.plan_id ? (
            <>
              {" "}
              of <Link to={`/plans/${a.plan_id}`}>its plan</Link>
            </>
          ) : (
            " (ad hoc)"
          )}
        </dd>
        {a.verify_error ? (
          <>
            <dt>Last check failed</dt>
            <dd>{a.verify_error}</dd>
          </>
        ) : null}
      </dl>
      <div>
        <h3>Remote copies</h3>
        {a.remote_copies.length === 0 ? (
          <p className="muted">No verified copy in an S3 target. Add an upload target to its plan to keep one off the host.</p>
        ) : (
          <ul className="plain">
            {a.remote_copies.map((c) => (
              <li key={`${c.target_id}-${c.key}`}>
                <StatusBadge status="verified" label={c.target_id} /> s3://{c.bucket}/{c.key} — {formatBytes(c.size_bytes)},
                checked by {c.verified_by}, uploaded {formatDateTime(c.uploaded_at)}
              </li>
            ))}
          </ul>
        )}
        <h3>Checks</h3>
        {a.verifications.length === 0 ? (
          <p className="muted">Never checked.</p>
        ) : (
          <ul className="plain">
            {a.verifications.map((v) => (
              <li key={v.job_id}>
                <StatusBadge status={v.outcome === "passed" ? "succeeded" : v.outcome === "failed" ? "failed" : v.status} label={v.outcome ?? v.status} />{" "}
                <Link to={`/jobs/${v.job_id}`}>{formatDateTime(v.finished_at ?? v.requested_at)}</Link>
                {v.requested_by ? ` by ${v.requested_by}` : " (scheduled)"}
                {v.error ? ` — ${v.error}` : ""}
              </li>
            ))}
          </ul>
        )}
      </div>
    </div>
  );
}
