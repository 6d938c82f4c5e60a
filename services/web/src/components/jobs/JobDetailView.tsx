// One job: status and phase, live progress, timings, sizes, why it failed, its log and the
// archives it produced; cancel while it runs, restore from what it made.
import { useEffect, useRef } from "react";
import { Link } from "react-router-dom";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, type Schemas } from "../../api/client";
import { unwrap } from "../../api/errors";
import { useCan } from "../../auth/session";
import { formatBytes, formatDateTime, formatDuration, shortId } from "../../lib/format";
import { jobKey, useJobEvents } from "../../lib/jobEvents";
import { logLabel } from "../../lib/logLabels";
import { finishedFigureLabel } from "../../lib/jobFigures";
import { Card, ErrorBanner, Loading, Notice, Page, StatusBadge } from "../ui";
import { JobProgress } from "./JobProgress";
import { ConfirmInline } from "../ConfirmInline";
import "./jobs.css";
import { DataTable } from "../DataTable";

type Detail = Schemas["JobDetail"];

/** Log lines come only with GET /jobs/{id}: read it again this often until the job ends. */
export const DETAIL_REFRESH_MS = 5000;

export function useJobDetail(jobId: string) {
  useJobEvents(jobId);
  const client = useQueryClient();
  const query = useQuery({
    queryKey: jobKey(jobId),
    queryFn: async () => unwrap(await api.GET("/jobs/{job_id}", { params: { path: { job_id: jobId } } })) as Detail,
    refetchInterval: (query) => (query.state.data && !query.state.data.finished ? DETAIL_REFRESH_MS : false),
  });
  // The news that a job ended carries no log lines or artifacts: read the detail once more.
  const finished = query.data?.finished;
  const wasRunning = useRef(false);
  useEffect(() => {
    if (finished === false) wasRunning.current = true;
    if (finished && wasRunning.current) {
      wasRunning.current = false;
      void client.invalidateQueries({ queryKey: jobKey(jobId) });
    }
  }, [finished, client, jobId]);
  return query;
}

export function JobDetailView({ jobId }: { jobId: string }) {
  const job = useJobDetail(jobId);
  if (job.isPending) return <Loading what="Loading the job" />;
  if (job.isError) {
    return (
      <Page title={`Job ${shortId(jobId)}`}>
        <ErrorBanner error={job.error} />
        <Link to="/jobs">Back to jobs</Link>
      </Page>
    );
  }
  return <JobBody job={job.data} />;
}

function JobBody({ job }: { job: Detail }) {
  const can = useCan();
  const client = useQueryClient();
  const plan = useQuery({
    queryKey: ["plan", job.plan_id],
    queryFn: async () => unwrap(await api.GET("/plans/{plan_id}", { params: { path: { plan_id: job.plan_id! } } })),
    enabled: job.plan_id !== null,
  });
  const cancel = useMutation({
    mutationFn: async () => unwrap(await api.POST("/jobs/{job_id}/cancel", { params: { path: { job_id: job.id } } })),
    onSuccess: (fresh) => {
      client.setQueryData<Detail>(jobKey(job.id), (old) => (old ? { ...old, ...fresh } : old));
      void client.invalidateQueries({ queryKey: jobKey(job.id) });
    },
  });
  const mayCancel = can("POST", "/jobs/{job_id}/cancel") && !job.finished;
  const mayRestore = can("POST", "/restores/preview");
  const subject = job.resource_name
    ? `${job.resource_kind ?? "resource"} ${job.resource_name}`
    : plan.data
      ? `plan ${plan.data.name}`
      : null;
  const figureLabel = finishedFigureLabel(job.kind, job.status);

  return (
    <Page
      title={`Job ${shortId(job.id)}`}
      actions={
        mayCancel ? (
          <div className="job-actions">
            <ConfirmInline
              label="Cancel"
              className="danger"
              disabled={Boolean(job.cancel_requested_by)}
              question={`Stop this ${job.kind}?`}
              groupLabel="Cancel this job?"
              confirmLabel="Yes, cancel the job"
              keepLabel="Keep it running"
              busy={cancel.isPending}
              onConfirm={() => cancel.mutate()}
            />
          </div>
        ) : null
      }
    >
      <ErrorBanner error={cancel.error} />
      <Card>
        <div className="job-actions">
          <StatusBadge status={job.status} />
          <span>
            {job.kind}
            {subject ? " of " : ""}
            {job.plan_id && !job.resource_name ? <Link to={`/plans/${job.plan_id}`}>{subject}</Link> : subject}
            {" on "}
            {job.host_id}
          </span>
          {job.finished ? null : <span className="hint">phase: {job.phase}</span>}
        </div>
        {job.status === "running" || (job.status === "queued" && job.bytes_done > 0) ? (
          <JobProgress done={job.bytes_done} total={job.bytes_total} phase={job.phase} />
        ) : null}
        {job.cancel_requested_by && !job.finished ? (
          <Notice kind="warning">Cancel requested by {job.cancel_requested_by}; waiting for the host to stop.</Notice>
        ) : null}
        {job.status === "failed" ? (
          <div className="banner error" role="alert">
            <strong>Failed:</strong> {job.error ?? "no reason given"}
            <div className="hint">
              {job.retryable === true
                ? "This may succeed if run again (the cause looks temporary)."
                : job.retryable === false
                  ? "Running it again as is will fail the same way: fix the cause first."
                  : null}
            </div>
          </div>
        ) : job.error ? (
          <p className="hint">{job.error}</p>
        ) : null}
      </Card>

      <div className="grid">
        <Card title="Timings">
          <dl className="facts">
            <dt>Created</dt>
            <dd>{formatDateTime(job.created_at)}</dd>
            {job.scheduled_for ? (
              <>
                <dt>Scheduled for</dt>
                <dd>{formatDateTime(job.scheduled_for)}</dd>
              </>
            ) : null}
            <dt>Started</dt>
            <dd>{formatDateTime(job.started_at)}</dd>
            <dt>Finished</dt>
            <dd>{formatDateTime(job.finished_at)}</dd>
            <dt>Duration</dt>
            <dd>{job.started_at ? formatDuration(job.started_at, job.finished_at) : "—"}</dd>
          </dl>
        </Card>
        <Card title="Sizes and attempts">
          <dl className="facts">
            {!job.finished ? (
              <>
                <dt>Bytes done</dt>
                <dd>{formatBytes(job.bytes_done)}</dd>
                <dt>Bytes total</dt>
                <dd>{job.bytes_total === null ? "not known yet" : formatBytes(job.bytes_total)}</dd>
              </>
            ) : figureLabel && (job.status === "succeeded" || job.bytes_done > 0) ? (
              <>
                <dt>{figureLabel}</dt>
                <dd>{formatBytes(job.bytes_done)}</dd>
              </>
            ) : null}
            {job.artifacts.length ? (
              <>
                <dt>Archives written</dt>
                <dd>
                  {job.artifacts.length}, {formatBytes(job.artifacts.reduce((sum, a) => sum + a.size_bytes, 0))}
                </dd>
              </>
            ) : null}
            <dt>Attempts</dt>
            <dd>{job.attempts}</dd>
            {job.republished ? (
              <>
                <dt>Republished</dt>
                <dd>{job.republished}</dd>
              </>
            ) : null}
            <dt>Requested by</dt>
            <dd>{job.requested_by ?? "the schedule"}</dd>
          </dl>
        </Card>
      </div>

      <Card title="Artifacts">
        {job.artifacts.length === 0 ? (
          <p className="hint">{job.finished ? "This job produced no archives." : "Archives appear here as the job completes them."}</p>
        ) : (
          <DataTable stack headers={["Archive", "Size", "sha256 or snapshot", "State", "Copies", ""]}>
            {job.artifacts.map((artifact) => (
              <tr key={artifact.id}>
                <td>
                  <Link to="/backups">
                    {artifact.resource_kind} {artifact.resource_name}
                  </Link>{" "}
                  <span className="hint">{artifact.role}</span>
                </td>
                <td>{formatBytes(artifact.size_bytes)}</td>
                {artifact.format === "repository" ? (
                  <td title={`restic snapshot ${artifact.snapshot_id ?? ""}`}>
                    snapshot <code>{(artifact.snapshot_id ?? "").slice(0, 8)}</code>
                  </td>
                ) : (
                  <td className="sha" title={artifact.sha256}>
                    {artifact.sha256}
                  </td>
                )}
                <td>
                  {artifact.state}
                  {artifact.verified_at ? <span className="hint"> (verified {formatDateTime(artifact.verified_at)})</span> : null}
                </td>
                <td>{artifact.copies.length ? artifact.copies.map((c) => c.target_id).join(", ") : "local only"}</td>
                <td>
                  {mayRestore && artifact.state === "available" && (artifact.format !== "repository" || artifact.resource_kind === "volume") ? (
                    <Link className="button small" to={`/restore?artifact=${artifact.id}`}>
                      Restore from this backup
                    </Link>
                  ) : null}
                </td>
              </tr>
            ))}
          </DataTable>
        )}
      </Card>

      <Card title="Log">
        {job.events.length === 0 ? (
          <p className="hint">Nothing logged yet.</p>
        ) : (
          <ol className="job-log" aria-label="Job log">
            {job.events.map((line, index) => (
              <li key={`${line.at}-${index}`}>
                <time dateTime={line.at}>{formatDateTime(line.at)}</time>
                <span>
                  {line.message}
                  <span className="log-type" title={line.type}>
                    {logLabel(line.type)}
                  </span>
                  {typeof line.data.output === "string" && line.data.output ? (
                    <details className="hook-output">
                      <summary>What the command printed (secrets masked)</summary>
                      <pre>{line.data.output}</pre>
                    </details>
                  ) : null}
                </span>
              </li>
            ))}
          </ol>
        )}
      </Card>
      <p>
        <Link to="/jobs">Back to jobs</Link>
      </p>
    </Page>
  );
}
