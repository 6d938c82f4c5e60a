import { describe, expect, it } from "vitest";
import { targetLink } from "./auditLinks";

const PLAN = "5b0c7a1e-0000-4000-8000-000000000001";
const JOB = "9f1d2c3b-0000-4000-8000-000000000002";
const names = new Map([[PLAN, "nightly db"]]);

describe("targetLink", () => {
  it("names a plan and links its page", () => {
    expect(targetLink({ action: "plan.update", target: PLAN, details: { changed: ["cron"] } }, names)).toEqual({
      to: `/plans/${PLAN}`,
      label: "plan nightly db",
    });
  });

  it("falls back to the name the entry recorded, then to a short id", () => {
    const other = "77777777-0000-4000-8000-000000000003";
    expect(targetLink({ action: "plan.create", target: other, details: { name: "old name" } }, names)?.label).toBe("plan old name");
    expect(targetLink({ action: "plan.enable", target: other, details: {} }, names)?.label).toBe("plan 77777777");
  });

  it("links a job and an artifact's job, not a deleted plan or a login", () => {
    expect(targetLink({ action: "job.run", target: JOB, details: {} }, names)).toEqual({ to: `/jobs/${JOB}`, label: "job 9f1d2c3b" });
    expect(targetLink({ action: "artifact.verify", target: "a".repeat(36), details: { job_id: JOB } }, names)?.to).toBe(`/jobs/${JOB}`);
    expect(targetLink({ action: "plan.delete", target: PLAN, details: { name: "nightly db" } }, names)).toBeNull();
    expect(targetLink({ action: "login", target: "admin", details: {} }, names)).toBeNull();
  });
});
