// What an audit entry's target is, as a link with a name instead of a bare id.
import type { Schemas } from "../../api/client";

type Entry = Pick<Schemas["AuditEntryOut"], "action" | "target" | "details">;

export interface TargetLink {
  to: string;
  label: string;
}

function shortId(id: string): string {
  return id.length > 8 ? id.slice(0, 8) : id;
}

function text(value: unknown): string | null {
  return typeof value === "string" && value ? value : null;
}

const JOB_OF: Readonly<Record<string, string>> = { "artifact.verify": "verify job", "artifact.delete": "deletion job" };

/** A backup as its entry recorded it: "backup of volume pgdata (plan nightly)", else "backup 1a2b3c4d". */
function backupLabel(entry: Entry, artifactId: string, planNames: ReadonlyMap<string, string>): string {
  const resource = text(entry.details.resource);
  const planId = text(entry.details.plan_id);
  const plan = planId ? planNames.get(planId) : undefined;
  const what = resource ? `backup of ${resource}` : `backup ${shortId(artifactId)}`;
  return plan ? `${what} (plan ${plan})` : what;
}

/** The Backups page filtered to the entry's resource on its host (the rows an entry without a job can point at). */
function backupsOf(entry: Entry): string {
  const params = new URLSearchParams();
  const host = text(entry.details.host_id);
  const resource = text(entry.details.resource);
  if (host) params.set("host", host);
  const [kind, ...name] = resource ? resource.split(" ") : [];
  if (kind && name.length) {
    params.set("kind", kind);
    params.set("resource", name.join(" "));
  }
  const query = params.toString();
  return query ? `/backups?${query}` : "/backups";
}

/** The target's page and name: a plan by its name (from `planNames`, else the name the entry
 *  recorded), a job by its short id, a backup by the resource it holds (its job's page, or the
 *  Backups page when the entry made no job, as a refused restore); null when the target is not
 *  something with a page. */
export function targetLink(entry: Entry, planNames: ReadonlyMap<string, string>): TargetLink | null {
  const target = entry.target;
  if (!target) return null;
  const family = entry.action.split(".")[0];
  if (family === "plan") {
    const recorded = text(entry.details.name);
    const name = planNames.get(target) ?? recorded;
    if (entry.action === "plan.delete") return null; // its page is gone; the name stays in the details
    return { to: `/plans/${target}`, label: name ? `plan ${name}` : `plan ${shortId(target)}` };
  }
  if (family === "job") return { to: `/jobs/${target}`, label: `job ${shortId(target)}` };
  if (family === "artifact" || entry.action === "restore.request") {
    const backup = backupLabel(entry, target, planNames);
    const jobId = text(entry.details.job_id);
    if (!jobId) return { to: backupsOf(entry), label: backup };
    if (family === "restore") return { to: `/jobs/${jobId}`, label: `restore of ${backup}` };
    return { to: `/jobs/${jobId}`, label: `${backup}, its ${JOB_OF[entry.action] ?? "job"}` };
  }
  return null;
}
