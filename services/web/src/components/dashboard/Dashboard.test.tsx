import { jsonBody as json, SilentEventSource } from "../../lib/testSupport";
import { cleanup, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { renderWithApp } from "../../lib/renderWithApp";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Schemas } from "../../api/client";
import { DashboardPage } from "../../pages/Dashboard";

const DAYS = Array.from({ length: 30 }, (_, i) => `2026-11-${String(i + 1).padStart(2, "0")}`);

function summary(fields: Partial<Schemas["Dashboard"]> = {}): Schemas["Dashboard"] {
  return {
    generated_at: "2026-11-30T12:00:00Z",
    hosts: { online: 1, offline: 1 },
    volumes: { protected: 2, unprotected: 3 },
    containers: { protected: 1, unprotected: 0 },
    jobs_24h: { succeeded: 7, failed: 2, cancelled: 0, running: 1, queued: 0 },
    next_runs: [],
    plans: [],
    storage: DAYS.map((day, i) => ({ day, total_bytes: i * 1024 ** 2, local_bytes: i * 1024 ** 2, remote_bytes: 0 })),
    attention: [],
    attention_total: 0,
    acknowledged: [],
    acknowledged_total: 0,
    getting_started: { complete: true, steps: [], unprotected_volumes: 3 },
    ...fields,
  };
}


function renderWith(dashboard: Schemas["Dashboard"], allowed: string[] = ["POST /plans"]) {
  vi.stubGlobal("EventSource", SilentEventSource);
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: Request) => {
      const path = new URL(input.url).pathname.replace(/^\/api/, "");
      if (path === "/auth/permissions") return json({ role: "operator", must_change_password: false, allowed });
      if (path === "/users/me") return json({ username: "oper", mfa_enabled: false });
      if (path === "/dashboard") return json(dashboard);
      if (path === "/jobs") return json({ items: [], next_cursor: null });
      return json({ detail: "not stubbed" }, 404);
    }),
  );
  renderWithApp(<DashboardPage />);
}

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("DashboardPage", () => {
  it("lists what needs attention with a link to act on each item", async () => {
    renderWith(
      summary({
        attention: [
          {
            key: "failed_job:backup:p1:h1:-:-:abc",
            kind: "failed_job",
            count: 1,
            message: "Backup of plan nightly failed: disk full",
            at: "2026-11-30T11:00:00Z",
            host_id: "h1",
            job_id: "job-9",
            job_kind: "backup",
            plan_id: "p1",
            plan_name: "nightly",
            resource_kind: null,
            resource_name: null,
          },
          {
            key: "unprotected_volume:h1:cache",
            kind: "unprotected_volume",
            count: 1,
            message: "Volume cache on h1 is not backed up by any enabled plan",
            at: null,
            host_id: "h1",
            job_id: null,
            job_kind: null,
            plan_id: null,
            plan_name: null,
            resource_kind: "volume",
            resource_name: "cache",
          },
        ],
        attention_total: 2,
      }),
    );
    const list = await screen.findByRole("list", { name: "Needs attention" });
    const items = within(list).getAllByRole("listitem");
    expect(items[0]).toHaveTextContent("disk full");
    expect(within(items[0]).getByRole("link", { name: "View job" })).toHaveAttribute("href", "/jobs/job-9");
    expect(within(items[1]).getByRole("link", { name: "Create a plan" })).toHaveAttribute(
      "href",
      "/plans/new?host=h1&volume=cache",
    );
    expect(screen.getByRole("img", { name: /Storage used over the last 30 days/ })).toBeInTheDocument();
  });

  it("warns of a host whose data dir is low on free space", async () => {
    renderWith(
      summary({
        attention: [
          {
            key: "low_space:h1",
            kind: "low_space",
            count: 1,
            message: "Free space low on host h1: its data dir has 3.0 GiB free of 100.0 GiB (3%); backups fail when it is full",
            at: "2026-11-30T11:00:00Z",
            host_id: "h1",
            job_id: null,
            job_kind: null,
            plan_id: null,
            plan_name: null,
            resource_kind: null,
            resource_name: null,
          },
        ],
        attention_total: 1,
      }),
    );
    const list = await screen.findByRole("list", { name: "Needs attention" });
    const [low] = within(list).getAllByRole("listitem");
    expect(low).toHaveTextContent("Free space low");
    expect(low).toHaveTextContent("3.0 GiB free of 100.0 GiB");
    expect(within(low).getByRole("link", { name: "View host" })).toHaveAttribute("href", "/resources?host=h1");
  });

  it("leads with the last day's jobs, linking to the failed ones when some failed", async () => {
    renderWith(summary());
    const lastDay = (await screen.findByRole("heading", { name: "Jobs, last 24 h" })).closest(".card") as HTMLElement;
    expect(within(lastDay).getByRole("link", { name: "See failed jobs" })).toHaveAttribute("href", "/jobs?status=failed");
    const cards = [...document.querySelectorAll(".grid .card-title")].map((title) => title.textContent);
    expect(cards.slice(0, 3)).toEqual(["Jobs, last 24 h", "Hosts", "Volumes"]);
  });

  it("links to all jobs when none failed", async () => {
    renderWith(summary({ jobs_24h: { succeeded: 7, failed: 0, cancelled: 0, running: 0, queued: 0 } }));
    const lastDay = (await screen.findByRole("heading", { name: "Jobs, last 24 h" })).closest(".card") as HTMLElement;
    expect(within(lastDay).getByRole("link", { name: "See jobs" })).toHaveAttribute("href", "/jobs");
  });

  it("asks to create a plan when there is none", async () => {
    renderWith(summary());
    const empty = await screen.findAllByRole("link", { name: "Create a plan" });
    expect(empty[0]).toHaveAttribute("href", "/plans/new");
    expect(screen.getAllByText(/No backup plans yet/).length).toBeGreaterThan(0);
  });

  it("offers no plan creation to a viewer", async () => {
    renderWith(summary(), []);
    await screen.findAllByText(/No backup plans yet/);
    expect(screen.queryByRole("link", { name: "Create a plan" })).not.toBeInTheDocument();
  });

  it("acknowledges an item with the keyboard and shows it again under Show acknowledged", async () => {
    const grouped: Schemas["AttentionItem"] = {
      key: "failed_jobs:restore:abc",
      kind: "failed_job",
      count: 12,
      message: "12 restores failed: volume does not exist (a, b, c and 9 more)",
      at: "2026-11-30T11:00:00Z",
      host_id: null,
      job_kind: "restore",
    };
    let acknowledged = false;
    const posted: unknown[] = [];
    vi.stubGlobal("EventSource", SilentEventSource);
    vi.stubGlobal(
      "fetch",
      vi.fn(async (input: Request) => {
        const path = new URL(input.url).pathname.replace(/^\/api/, "");
        if (path === "/auth/permissions")
          return json({
            role: "operator",
            must_change_password: false,
            allowed: ["POST /dashboard/attention/acknowledgements", "DELETE /dashboard/attention/acknowledgements"],
          });
        if (path === "/users/me") return json({ username: "oper", mfa_enabled: false });
        if (path === "/dashboard/attention/acknowledgements" && input.method === "POST") {
          posted.push(await input.json());
          acknowledged = true;
          return json({ key: grouped.key, message: grouped.message, acknowledged_by: "oper", acknowledged_at: "2026-11-30T11:30:00Z" });
        }
        if (path === "/dashboard")
          return json(
            acknowledged
              ? summary({ acknowledged: [{ ...grouped, acknowledged_by: "oper", acknowledged_at: "2026-11-30T11:30:00Z" }], acknowledged_total: 1 })
              : summary({ attention: [grouped], attention_total: 1 }),
          );
        if (path === "/jobs") return json({ items: [], next_cursor: null });
        return json({ detail: "not stubbed" }, 404);
      }),
    );
    renderWithApp(<DashboardPage />);
    const list = await screen.findByRole("list", { name: "Needs attention" });
    expect(within(list).getByRole("link", { name: "View 12 failed jobs" })).toHaveAttribute(
      "href",
      "/jobs?status=failed&kind=restore",
    );
    const button = within(list).getByRole("button", { name: "Acknowledge" });
    expect(button).toHaveAccessibleDescription(/another job fails the same way/);
    button.focus();
    await userEvent.keyboard("{Enter}");
    await waitFor(() => expect(screen.queryByRole("list", { name: "Needs attention" })).not.toBeInTheDocument());
    expect(posted).toEqual([{ key: grouped.key, at: grouped.at }]);
    await userEvent.click(screen.getByRole("button", { name: "Show acknowledged (1)" }));
    const shown = screen.getByRole("list", { name: "Acknowledged" });
    expect(within(shown).getByRole("listitem")).toHaveTextContent(/12 restores failed.*Acknowledged by oper/);
    expect(within(shown).getByRole("button", { name: "Take back" })).toBeEnabled();
  });

  it("offers no Acknowledge to a viewer", async () => {
    renderWith(
      summary({
        attention: [{ key: "offline_host:h2", kind: "offline_host", count: 1, message: "Host h2 is offline", at: null, host_id: "h2" }],
        attention_total: 1,
      }),
      [],
    );
    const list = await screen.findByRole("list", { name: "Needs attention" });
    expect(within(list).getByRole("link", { name: "View host" })).toBeInTheDocument();
    expect(within(list).queryByRole("button", { name: "Acknowledge" })).not.toBeInTheDocument();
  });
});
