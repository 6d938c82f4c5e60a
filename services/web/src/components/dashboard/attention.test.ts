import { describe, expect, it } from "vitest";
import {
  acknowledgedBy,
  acknowledgeHint,
  attentionAction,
  attentionLabel,
  nothingNeedsAttention,
  type AttentionItem,
} from "./attention";

function item(fields: Partial<AttentionItem>): AttentionItem {
  return {
    key: "k",
    kind: "failed_job",
    message: "",
    count: 1,
    at: null,
    host_id: "h1",
    job_id: null,
    job_kind: null,
    plan_id: null,
    plan_name: null,
    resource_kind: null,
    resource_name: null,
    ...fields,
  };
}

describe("attentionAction", () => {
  it("sends a failed job to its page", () => {
    expect(attentionAction(item({ kind: "failed_job", job_id: "j-1" }))).toEqual({ to: "/jobs/j-1", label: "View job" });
  });

  it("sends an unprotected volume to a new plan for it", () => {
    const action = attentionAction(item({ kind: "unprotected_volume", resource_name: "dev data" }));
    expect(action.to).toBe("/plans/new?host=h1&volume=dev+data");
    expect(action.label).toBe("Create a plan");
  });

  it("sends an unprotected volume to its row on Resources for a role that cannot create plans", () => {
    const action = attentionAction(item({ kind: "unprotected_volume", resource_name: "dev data" }), false);
    expect(action).toEqual({ to: "/resources?host=h1&name=dev+data", label: "View volume" });
  });

  it("sends a host whose data dir is nearly full to its resources", () => {
    const low = item({ kind: "low_space", host_id: "edge-1" });
    expect(attentionAction(low)).toEqual({ to: "/resources?host=edge-1", label: "View host" });
    expect(attentionLabel(low)).toBe("Free space low");
  });

  it("sends an offline host to its resources and a missed run to its plan", () => {
    expect(attentionAction(item({ kind: "offline_host", host_id: "edge-1" })).to).toBe("/resources?host=edge-1");
    expect(attentionAction(item({ kind: "missed_run", plan_id: "p-1" })).to).toBe("/plans/p-1");
  });
});

describe("grouped failures", () => {
  it("send a grouped line to the failed jobs of its kind, and of its host or plan when it has one", () => {
    const grouped = item({ kind: "failed_job", count: 12, job_kind: "restore", host_id: null });
    expect(attentionAction(grouped)).toEqual({ to: "/jobs?status=failed&kind=restore", label: "View 12 failed jobs" });
    const onOneHost = item({ kind: "failed_job", count: 3, job_kind: "backup", host_id: "edge-1", plan_id: "p-1" });
    expect(attentionAction(onOneHost).to).toBe("/jobs?status=failed&kind=backup&host_id=edge-1&plan_id=p-1");
  });
});

describe("acknowledgements", () => {
  it("say who acknowledged an item and when", () => {
    const acknowledged = item({ acknowledged_by: "ada", acknowledged_at: "2026-11-30T10:00:00Z" });
    expect(acknowledgedBy(acknowledged, () => "2 h ago")).toBe("Acknowledged by ada, 2 h ago");
    expect(acknowledgedBy(item({}), () => "now")).toBe("Acknowledged");
  });

  it("say when an acknowledged item comes back", () => {
    expect(acknowledgeHint(item({ kind: "failed_job", count: 4 }))).toMatch(/another job fails the same way/);
    expect(acknowledgeHint(item({ kind: "unprotected_volume" }))).toMatch(/on purpose/);
  });
});

describe("nothingNeedsAttention", () => {
  it("names every kind it checked", () => {
    expect(nothingNeedsAttention(0, 0)).toBe(
      "Nothing needs attention: no unfixed failures, missed runs, offline hosts, hosts low on free space or unprotected volumes.",
    );
  });

  it("does not claim there are no unprotected volumes while the checklist counts them", () => {
    const words = nothingNeedsAttention(2, 3);
    expect(words).not.toContain("unprotected volumes");
    expect(words).toContain("that nobody has acknowledged");
  });
});
