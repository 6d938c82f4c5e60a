// Where each "needs attention" item sends the user to act on it.
import type { Schemas } from "../../api/client";

export type AttentionItem = Schemas["AttentionItem"];

export interface AttentionAction {
  to: string;
  label: string;
}

const KIND_LABEL: Record<AttentionItem["kind"], string> = {
  failed_job: "Failed",
  missed_run: "Missed run",
  offline_host: "Offline",
  low_space: "Free space low",
  unprotected_volume: "Unprotected",
};

export function attentionLabel(item: AttentionItem): string {
  return KIND_LABEL[item.kind];
}

/** The page where the item can be dealt with: the failed job, the plan that missed a run, the
 *  host's resources (offline, or its data dir nearly full), or a new plan for an unprotected volume (its row on Resources for a role
 *  that cannot create plans). */
export function attentionAction(item: AttentionItem, canCreatePlan = true): AttentionAction {
  switch (item.kind) {
    case "failed_job":
      return { to: `/jobs/${item.job_id}`, label: "View job" };
    case "missed_run":
      return item.plan_id ? { to: `/plans/${item.plan_id}`, label: "View plan" } : { to: "/plans", label: "View plans" };
    case "offline_host":
    case "low_space":
      return { to: `/resources?host=${encodeURIComponent(item.host_id)}`, label: "View host" };
    case "unprotected_volume": {
      if (!canCreatePlan) {
        const where = new URLSearchParams({ host: item.host_id, name: item.resource_name ?? "" });
        return { to: `/resources?${where}`, label: "View volume" };
      }
      const query = new URLSearchParams({ host: item.host_id, volume: item.resource_name ?? "" });
      return { to: `/plans/new?${query}`, label: "Create a plan" };
    }
  }
}
