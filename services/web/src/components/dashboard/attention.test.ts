import { describe, expect, it } from "vitest";
import { attentionAction, attentionLabel, type AttentionItem } from "./attention";

function item(fields: Partial<AttentionItem>): AttentionItem {
  return {
    kind: "failed_job",
    message: "",
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
