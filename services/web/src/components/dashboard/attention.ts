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

/** The page where the item can be dealt with: the failed job (the failed jobs it stands for, for a
 *  grouped line), the plan that missed a run, the host's resources (offline, or its data dir nearly
 *  full), or a new plan for an unprotected volume (its row on Resources for a role that cannot
 *  create plans). */
export function attentionAction(item: AttentionItem, canCreatePlan = true): AttentionAction {
  const host = item.host_id ?? "";
  switch (item.kind) {
    case "failed_job": {
      if (item.job_id) return { to: `/jobs/${item.job_id}`, label: "View job" };
      const filters = new URLSearchParams({ status: "failed" });
      if (item.job_kind) filters.set("kind", item.job_kind);
      if (item.host_id) filters.set("host_id", item.host_id);
      if (item.plan_id) filters.set("plan_id", item.plan_id);
      return { to: `/jobs?${filters}`, label: `View ${item.count} failed jobs` };
    }
    case "missed_run":
      return item.plan_id ? { to: `/plans/${item.plan_id}`, label: "View plan" } : { to: "/plans", label: "View plans" };
    case "offline_host":
    case "low_space":
      return { to: `/resources?host=${encodeURIComponent(host)}`, label: "View host" };
    case "unprotected_volume": {
      if (!canCreatePlan) {
        const where = new URLSearchParams({ host, name: item.resource_name ?? "" });
        return { to: `/resources?${where}`, label: "View volume" };
      }
      const query = new URLSearchParams({ host, volume: item.resource_name ?? "" });
      return { to: `/plans/new?${query}`, label: "Create a plan" };
    }
  }
}

/** Who acknowledged an item and when, for the "Show acknowledged" list: "Acknowledged by ada, 2 h ago". */
export function acknowledgedBy(item: AttentionItem, relative: (at: string) => string): string {
  if (!item.acknowledged_by) return "Acknowledged";
  return `Acknowledged by ${item.acknowledged_by}` + (item.acknowledged_at ? `, ${relative(item.acknowledged_at)}` : "");
}

/** What acknowledging does to this item, for the button's description: when it comes back. */
export function acknowledgeHint(item: AttentionItem): string {
  switch (item.kind) {
    case "failed_job":
      return item.count > 1
        ? "Hides this line until another job fails the same way."
        : "Hides this failure until the same job fails again.";
    case "missed_run":
      return "Hides this until the plan misses another run.";
    case "offline_host":
      return "Hides this until the host goes offline again after coming back.";
    case "low_space":
      return "Hides this until half of the free space left now is gone too.";
    case "unprotected_volume":
      return "Hides this volume for good: it is not backed up on purpose. Take it back under Show acknowledged.";
  }
}

/** The words of an empty "Needs attention" list. While the getting-started checklist is up it
 *  counts the unprotected volumes, not this list: the sentence must not say there are none. */
export function nothingNeedsAttention(acknowledgedTotal: number, unprotectedInChecklist: number): string {
  const checked = ["unfixed failures", "missed runs", "offline hosts", "hosts low on free space"];
  if (unprotectedInChecklist === 0) checked.push("unprotected volumes");
  const list = `${checked.slice(0, -1).join(", ")} or ${checked[checked.length - 1]}`;
  return `Nothing needs attention: no ${list}${acknowledgedTotal > 0 ? " that nobody has acknowledged" : ""}.`;
}
