// One job in the list: status, what it works on, timing, live progress or why it failed.
import { Link } from "react-router-dom";
import type { Schemas } from "../../api/client";
import { formatBytes, formatDateTime, formatDuration, formatRelative, shortId } from "../../lib/format";
import { StatusBadge } from "../ui";
import { JobProgress } from "./JobProgress";

type Job = Schemas["JobOut"];

/** What the job works on: its resource, else its plan (by name when known). */
export function jobSubject(job: Pick<Job, "resource_kind" | "resource_name" | "plan_id">, planNames: ReadonlyMap<string, string>): string {
  if (job.resource_name) return `${job.resource_kind ?? "resource"} ${job.resource_name}`;
  if (job.plan_id) return `plan ${planNames.get(job.plan_id) ?? shortId(job.plan_id)}`;
  return "—";
}

export function JobRow({ job, planNames }: { job: Job; planNames: ReadonlyMap<string, string> }) {
  const started = job.started_at ?? null;
  return (
    <tr>
      <td>
        <Link to={`/jobs/${job.id}`} aria-label={`Job ${shortId(job.id)} details`}>
          {shortId(job.id)}
        </Link>
      </td>
      <td>
        <StatusBadge status={job.status} />
      </td>
      <td>{job.kind}</td>
      <td>
        {job.plan_id && !job.resource_name ? (
          <Link to={`/plans/${job.plan_id}`}>{jobSubject(job, planNames)}</Link>
        ) : (
          jobSubject(job, planNames)
        )}
      </td>
      <td>{job.host_id}</td>
      <td title={formatDateTime(started ?? job.created_at)}>
        {started ? formatRelative(started) : <span className="hint">queued {formatRelative(job.created_at)}</span>}
      </td>
      <td>{started ? formatDuration(started, job.finished_at) : "—"}</td>
      <td>
        {job.status === "running" ? (
          <JobProgress done={job.bytes_done} total={job.bytes_total} phase={job.phase} />
        ) : job.status === "failed" || job.status === "cancelled" ? (
          <span className="job-error" title={job.error ?? undefined}>
            {job.error ?? ""}
          </span>
        ) : job.finished ? (
          <span className="hint">{job.bytes_done ? formatBytes(job.bytes_done) : ""}</span>
        ) : (
          <span className="hint">{job.phase}</span>
        )}
      </td>
    </tr>
  );
}
