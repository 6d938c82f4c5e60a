import { describe, expect, it } from "vitest";
import { targetLink } from "./auditLinks";

const PLAN = "5b0c7a1e-0000-4000-8000-000000000001";
const JOB = "9f1d2c3b-0000-4000-8000-000000000002";
const ARTIFACT = "a1b2c3d4-0000-4000-8000-000000000004";
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
    expect(targetLink({ action: "artifact.verify", target: ARTIFACT, details: { job_id: JOB } }, names)?.to).toBe(`/jobs/${JOB}`);
    expect(targetLink({ action: "plan.delete", target: PLAN, details: { name: "nightly db" } }, names)).toBeNull();
    expect(targetLink({ action: "login", target: "admin", details: {} }, names)).toBeNull();
  });

  it("names a backup by the resource it holds and its plan, not by its id", () => {
    const details = { job_id: JOB, host_id: "h1", resource: "volume pgdata", plan_id: PLAN };
    expect(targetLink({ action: "artifact.verify", target: ARTIFACT, details }, names)).toEqual({
      to: `/jobs/${JOB}`,
      label: "backup of volume pgdata (plan nightly db), its verify job",
    });
    expect(targetLink({ action: "artifact.delete", target: ARTIFACT, details }, names)?.label).toBe(
      "backup of volume pgdata (plan nightly db), its deletion job",
    );
    expect(targetLink({ action: "restore.request", target: ARTIFACT, details }, names)).toEqual({
      to: `/jobs/${JOB}`,
      label: "restore of backup of volume pgdata (plan nightly db)",
    });
  });

  it("links a backup entry without a job to the Backups page of its resource", () => {
    const refused = { host_id: "h1", resource: "volume pgdata", reason: "expired" };
    expect(targetLink({ action: "restore.request", target: ARTIFACT, details: refused }, names)).toEqual({
      to: "/backups?host=h1&kind=volume&resource=pgdata",
      label: "backup of volume pgdata",
    });
    // an older row that recorded no resource still reads as a backup, never as a bare id
    expect(targetLink({ action: "artifact.verify", target: ARTIFACT, details: {} }, names)).toEqual({
      to: "/backups",
      label: "backup a1b2c3d4",
    });
  });
});
