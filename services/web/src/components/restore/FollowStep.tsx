// Step 5: the restore job, live (server-sent news, and a poll every 2 s until it ends).
import { useEffect } from "react";
import { useQuery } from "@tanstack/react-query";
import { Link } from "react-router-dom";
import { api } from "../../api/client";
import { unwrap } from "../../api/errors";
import { formatBytes, formatDateTime, formatDuration } from "../../lib/format";
import { jobKey, useJobEvents } from "../../lib/jobEvents";
import { finishedFigureLabel } from "../../lib/jobFigures";
import { JobProgress } from "../jobs/JobProgress";
import { ErrorBanner, Loading, Notice, StatusBadge } from "../ui";
import { restoreFinishedWords } from "./wizard";

export function FollowStep({
  jobId,
  backupJobId = null,
  onRestart,
}: {
  jobId: string;
  /** The backup of the current data the restore takes first, if any. */
  backupJobId?: string | null;
  onRestart: () => void;
}) {
  const job = useQuery({
    queryKey: jobKey(jobId),
    queryFn: async () => unwrap(await api.GET("/jobs/{job_id}", { params: { path: { job_id: jobId } } })),
    refetchInterval: (query) => (query.state.data?.finished ? false : 2000),
  });
  const finished = job.data?.finished ?? false;
  useJobEvents(jobId, !finished);
  const { refetch } = job;
  useEffect(() => {
    // The live news carries the status, not the log lines: read the whole job once it ended.
    if (finished) void refetch();
  }, [finished, refetch]);

  if (job.isPending) return <Loading what="Loading the restore job" />;
  if (job.error) return <ErrorBanner error={job.error} />;
  const j = job.data;
  // A JobOut from the live news has no events; keep showing what the detail had.
  const figureLabel = finishedFigureLabel(j.kind, j.status);
  const events = "events" in j && Array.isArray(j.events) ? j.events : [];
  return (
    <div className="restore-follow">
      <dl className="facts">
        <dt>Status</dt>
        <dd>
          <StatusBadge status={j.status} />
        </dd>
        {j.finished ? null : (
          <>
            <dt>Phase</dt>
            <dd>{j.phase}</dd>
          </>
        )}
        <dt>Target</dt>
        <dd>
          {j.resource_kind} {j.resource_name} on {j.host_id}
        </dd>
        {!j.finished ? (
          <>
            <dt>Progress</dt>
            <dd>
              <JobProgress done={j.bytes_done} total={j.bytes_total} />
            </dd>
          </>
        ) : figureLabel && (j.status === "succeeded" || j.bytes_done > 0) ? (
          <>
            <dt>{figureLabel}</dt>
            <dd>{formatBytes(j.bytes_done)}</dd>
          </>
        ) : null}
        <dt>Time</dt>
        <dd>{formatDuration(j.started_at ?? j.created_at, j.finished_at)}</dd>
      </dl>
      {backupJobId ? (
        <Notice>
          The current data is backed up first, before it is replaced: <Link to={`/jobs/${backupJobId}`}>the backup of the current data</Link>. Restore
          that backup to undo this restore.
        </Notice>
      ) : null}
      {j.status === "succeeded" ? <Notice kind="success">{restoreFinishedWords(j, events)}</Notice> : null}
      {j.error ? (
        <div className="banner error" role="alert">
          {j.error}
        </div>
      ) : null}
      {events.length ? (
        <ol className="log-lines" aria-label="Log">
          {events.map((line, index) => (
            <li key={`${line.at}-${index}`}>
              <time dateTime={line.at}>{formatDateTime(line.at)}</time> {line.message}
            </li>
          ))}
        </ol>
      ) : null}
      <div className="row">
        <Link to={`/jobs/${jobId}`}>Open the job</Link>
        {j.finished ? (
          <button type="button" onClick={onRestart}>
            Restore another backup
          </button>
        ) : null}
      </div>
    </div>
  );
}
