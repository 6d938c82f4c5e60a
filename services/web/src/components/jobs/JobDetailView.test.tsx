import "../../lib/testSupport";
import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, screen } from "@testing-library/react";
import { renderWithApp } from "../../lib/renderWithApp";
import { JobDetailView } from "./JobDetailView";
import { json, SilentEventSource, stubApi } from "../../lib/testSupport";

const JOB_ID = "4d7c1f0e-1111-4222-8333-444455556666";
const PLAN_ID = "9a9a9a9a-1111-4222-8333-444455556666";

function runningJob() {
  return {
    id: JOB_ID,
    kind: "backup",
    host_id: "vm",
    plan_id: PLAN_ID,
    status: "running",
    finished: false,
    phase: "archive",
    resource_kind: null,
    resource_name: null,
    scheduled_for: null,
    requested_by: "oper",
    attempts: 1,
    republished: 0,
    bytes_done: 512 * 1024,
    bytes_total: 1024 * 1024,
    error: null,
    retryable: null,
    cancel_requested_by: null,
    created_at: "2026-11-26T10:00:00Z",
    started_at: "2026-11-26T10:00:01Z",
    finished_at: null,
    last_event_at: "2026-11-26T10:00:05Z",
    events: [
      { at: "2026-11-26T10:00:00Z", type: "job_requested.v1", message: "Requested by oper", data: {} },
      { at: "2026-11-26T10:00:01Z", type: "job_started.v1", message: "Started on vm", data: {} },
    ],
    artifacts: [],
  };
}

function renderDetail(allowed: string[], job: object = runningJob()) {
  stubApi((key) => {
    if (key === "GET /auth/permissions") return json(200, { role: "operator", must_change_password: false, allowed });
    if (key === "GET /users/me") return json(200, { username: "oper", mfa_enabled: false });
    if (key === `GET /jobs/${JOB_ID}`) return json(200, job);
    if (key === `GET /plans/${PLAN_ID}`) return json(200, { id: PLAN_ID, name: "nightly" });
    return undefined;
  });
  vi.stubGlobal("EventSource", SilentEventSource);
  return renderWithApp(<JobDetailView jobId={JOB_ID} />);
}

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("JobDetailView", () => {
  it("shows a running job with its progress, phase and log in order", async () => {
    renderDetail(["POST /jobs/{job_id}/cancel"]);
    const bar = await screen.findByRole("progressbar");
    expect(bar).toHaveAttribute("aria-valuenow", "50");
    expect(screen.getByText("running")).toBeInTheDocument();
    expect(screen.getByText("archive: 512 KiB of 1.0 MiB (50%)")).toBeInTheDocument();
    expect(screen.getByText("phase: archive")).toBeInTheDocument();
    expect(await screen.findByText("plan nightly")).toHaveAttribute("href", `/plans/${PLAN_ID}`);
    const log = screen.getByRole("list", { name: "Job log" });
    expect(log.textContent).toMatch(/Requested by oper.*Started on vm/);
    expect(log.textContent).toContain("started");
    expect(log.textContent).not.toMatch(/\.v1/); // words, not event codes
    expect(await screen.findByRole("button", { name: "Cancel" })).toBeInTheDocument();
  });

  it("shows what a failed hook printed (as the API gives it: masked, to operators and admins only)", async () => {
    const job = runningJob();
    job.events.push({
      at: "2026-11-26T10:00:02Z",
      type: "job_failed.v1",
      message: "failed in phase prepare: pre-command 1 ('pg_dump' in container 'db') exited with 1",
      data: { output: "pg_dump: could not connect to postgres://***@db/app" } as never,
    });
    renderDetail([], job);
    const log = await screen.findByRole("list", { name: "Job log" });
    expect(log.textContent).toContain("What the command printed (secrets masked)");
    expect(log.textContent).toContain("could not connect to postgres://***@db/app");
  });

  it("shows no percentage while the total is not known", async () => {
    renderDetail([], { ...runningJob(), bytes_total: null });
    const bar = await screen.findByRole("progressbar");
    expect(bar).not.toHaveAttribute("aria-valuenow");
    expect(screen.getByText("archive: 512 KiB")).toBeInTheDocument();
    expect(screen.getByText("not known yet")).toBeInTheDocument();
  });

  it("shows a finished backup's figure from its archives, without a phase or a bar", async () => {
    const job = {
      ...runningJob(),
      status: "succeeded",
      finished: true,
      phase: "upload",
      bytes_done: 600 * 1024 * 1024,
      bytes_total: 600 * 1024 * 1024,
      finished_at: "2026-11-26T10:01:00Z",
    };
    renderDetail([], job);
    expect(await screen.findByText("succeeded")).toBeInTheDocument();
    expect(screen.getByText("Data backed up").nextElementSibling).toHaveTextContent("600 MiB");
    expect(screen.queryByText(/phase/)).not.toBeInTheDocument();
    expect(screen.queryByRole("progressbar")).not.toBeInTheDocument();
    expect(screen.queryByText("Bytes total")).not.toBeInTheDocument();
  });

  it("shows a snapshot by its restic id beside an archive, each with its restore", async () => {
    const artifact = {
      resource_kind: "volume",
      resource_name: "pgdata",
      role: "pgdata",
      size_bytes: 2048,
      state: "available",
      created_at: "2026-11-26T10:01:00Z",
      verified_at: null,
      copies: [],
    };
    const job = {
      ...runningJob(),
      status: "succeeded",
      finished: true,
      finished_at: "2026-11-26T10:01:00Z",
      artifacts: [
        { ...artifact, id: "s1", format: "repository", snapshot_id: "ab".repeat(32), path: "repositories/plan-p", sha256: "" },
        { ...artifact, id: "a1", role: "config", format: "archive", snapshot_id: null, path: "x.json", sha256: "e3".repeat(32) },
      ],
    };
    renderDetail(["POST /restores/preview"], job);
    expect(await screen.findByTitle(`restic snapshot ${"ab".repeat(32)}`)).toHaveTextContent("snapshot abababab");
    const restores = screen.getAllByRole("link", { name: "Restore from this backup" });
    expect(restores.map((link) => link.getAttribute("href"))).toEqual(["/restore?artifact=s1", "/restore?artifact=a1"]);
  });

  it("shows no Cancel button to a role that may not cancel", async () => {
    renderDetail([]);
    await screen.findByRole("progressbar");
    expect(screen.queryByRole("button", { name: "Cancel" })).not.toBeInTheDocument();
  });
});
