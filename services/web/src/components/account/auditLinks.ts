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

/** The target's page and name: a plan by its name (from `planNames`, else the name the entry
 *  recorded), a job by its short id; null when the target is not something with a page. */
export function targetLink(entry: Entry, planNames: ReadonlyMap<string, string>): TargetLink | null {
  const target = entry.target;
  if (!target) return null;
  const family = entry.action.split(".")[0];
  if (family === "plan") {
    const recorded = typeof entry.details.name === "string" ? entry.details.name : null;
    const name = planNames.get(target) ?? recorded;
    if (entry.action === "plan.delete") return null; // its page is gone; the name stays in the details
    return { to: `/plans/${target}`, label: name ? `plan ${name}` : `plan ${shortId(target)}` };
  }
  if (family === "job") return { to: `/jobs/${target}`, label: `job ${shortId(target)}` };
  if (family === "artifact" && typeof entry.details.job_id === "string") {
    return { to: `/jobs/${entry.details.job_id}`, label: `backup ${shortId(target)} (its ${entry.action === "artifact.verify" ? "verify job" : "job"})` };
  }
  return null;
}
