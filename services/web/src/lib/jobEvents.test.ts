import { QueryClient } from "@tanstack/react-query";
import { describe, expect, it, vi } from "vitest";
import { applyNews, foldIntoCache, type Job } from "./jobEvents";

const job = {
  id: "j1",
  kind: "backup",
  host_id: "h",
  plan_id: null,
  status: "queued",
  finished: false,
  phase: "queued",
  bytes_done: 0,
  bytes_total: null,
} as unknown as Job;

describe("applyNews", () => {
  it("moves a queued job to running with its progress", () => {
    const next = applyNews(job, "progress", {
      job_id: "j1",
      host_id: "h",
      phase: "archive",
      bytes_done: 50,
      bytes_total: 100,
      at: "2026-01-01T00:00:00Z",
    });
    expect(next).toMatchObject({ status: "running", phase: "archive", bytes_done: 50, bytes_total: 100 });
  });

  it("takes each step's own total, an unknown one too (no earlier step's total)", () => {
    const archiving = { ...job, status: "running", bytes_done: 100, bytes_total: 100 } as Job;
    const next = applyNews(archiving, "progress", {
      job_id: "j1",
      host_id: "h",
      phase: "archive",
      bytes_done: 10,
      bytes_total: null,
      at: "2026-01-01T00:00:01Z",
    });
    expect(next).toMatchObject({ bytes_done: 10, bytes_total: null });
  });

  it("ignores progress for another job and after the job finished", () => {
    const other = applyNews(job, "progress", { job_id: "j2", host_id: "h", phase: "archive", bytes_done: 1, bytes_total: 2, at: "" });
    expect(other).toBe(job);
    const done = { ...job, status: "succeeded", finished: true };
    expect(applyNews(done, "progress", { job_id: "j1", host_id: "h", phase: "archive", bytes_done: 1, bytes_total: 2, at: "" })).toBe(done);
  });

  it("takes a status change whole", () => {
    const next = applyNews(job, "job", { ...job, status: "succeeded", finished: true, phase: "done" });
    expect(next.status).toBe("succeeded");
    expect(next.finished).toBe(true);
  });
});

describe("foldIntoCache", () => {
  it("reads the backups, resources, plans and dashboard again when a job ends, not while it runs", () => {
    const client = new QueryClient();
    const invalidate = vi.spyOn(client, "invalidateQueries");
    const invalidated = () => invalidate.mock.calls.map(([filters]) => JSON.stringify(filters?.queryKey));

    foldIntoCache(client, "job", { ...job, status: "running" });
    expect(invalidated()).toEqual(['["dashboard"]']);

    invalidate.mockClear();
    foldIntoCache(client, "job", { ...job, status: "succeeded", finished: true });
    expect(invalidated().sort()).toEqual(['["artifacts"]', '["dashboard"]', '["plans"]', '["resources"]']);
  });
});
