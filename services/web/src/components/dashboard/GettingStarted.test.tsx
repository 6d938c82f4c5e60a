import { jsonBody as json, SilentEventSource } from "../../lib/testSupport";
import { cleanup, screen, within } from "@testing-library/react";
import { renderWithApp } from "../../lib/renderWithApp";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Schemas } from "../../api/client";
import { DashboardPage } from "../../pages/Dashboard";

type Step = Schemas["GettingStartedStep"];

const ADMIN = ["POST /plans", "POST /jobs", "POST /settings/targets", "POST /artifacts/{artifact_id}/verify", "POST /plans/{plan_id}/enable"];
const OPERATOR = ["POST /plans", "POST /jobs", "POST /artifacts/{artifact_id}/verify", "POST /plans/{plan_id}/enable"];

function steps(done: Step["step"][], fields: Partial<Record<Step["step"], Partial<Step>>> = {}): Step[] {
  const titles: [Step["step"], string][] = [
    ["host_online", "Connect a Docker host"],
    ["storage_target", "Add an off-site storage target"],
    ["first_plan", "Create a backup plan"],
    ["first_backup", "Run a first backup"],
    ["first_verified_backup", "Verify a backup"],
  ];
  return titles.map(([step, title]) => ({
    step,
    title,
    done: done.includes(step),
    detail: done.includes(step) ? `${title}: proven` : `${title}: missing`,
    ...fields[step],
  }));
}

function dashboard(checklist: Schemas["GettingStarted"], attention: Schemas["AttentionItem"][] = []): Schemas["Dashboard"] {
  return {
    generated_at: "2026-11-30T12:00:00Z",
    hosts: { online: 1, offline: 0 },
    volumes: { protected: 0, unprotected: checklist.unprotected_volumes },
    containers: { protected: 0, unprotected: 0 },
    jobs_24h: { succeeded: 0, failed: 0, cancelled: 0, running: 0, queued: 0 },
    next_runs: [],
    plans: [],
    storage: [],
    attention,
    attention_total: attention.length,
    acknowledged: [],
    acknowledged_total: 0,
    getting_started: checklist,
  };
}

function renderWith(summary: Schemas["Dashboard"], allowed: string[]) {
  vi.stubGlobal("EventSource", SilentEventSource);
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: Request) => {
      const path = new URL(input.url).pathname.replace(/^\/api/, "");
      if (path === "/auth/permissions") return json({ role: "someone", must_change_password: false, allowed });
      if (path === "/users/me") return json({ username: "someone", mfa_enabled: false });
      if (path === "/dashboard") return json(summary);
      if (path === "/jobs") return json({ items: [], next_cursor: null });
      return json({ detail: "not stubbed" }, 404);
    }),
  );
  renderWithApp(<DashboardPage />);
}

async function checklistItem(title: string): Promise<HTMLElement> {
  const list = await screen.findByRole("list", { name: "Getting started" });
  return within(list).getByRole("checkbox", { name: title }).closest("li") as HTMLElement;
}

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("GettingStarted", () => {
  it("leads a new installation's dashboard: done steps ticked, the others linked to where they are done", async () => {
    renderWith(dashboard({ complete: false, steps: steps(["host_online"]), unprotected_volumes: 7 }), ADMIN);
    const list = await screen.findByRole("list", { name: "Getting started" });
    expect(within(list).getByRole("checkbox", { name: "Connect a Docker host" })).toBeChecked();
    expect(within(list).getByRole("checkbox", { name: "Create a backup plan" })).not.toBeChecked();
    expect(screen.getByText("1 of 5 steps done")).toBeInTheDocument();
    const cards = [...document.querySelectorAll(".dashboard > .card .card-title")].map((title) => title.textContent);
    expect(cards[0]).toBe("Getting started");

    const storage = await checklistItem("Add an off-site storage target");
    expect(await within(storage).findByRole("link", { name: "Add an S3 target in Settings" })).toHaveAttribute("href", "/settings");
    const plan = await checklistItem("Create a backup plan");
    expect(within(plan).getByRole("link", { name: "Create a plan" })).toHaveAttribute("href", "/plans/new");
    // Nothing to run or verify yet: no link that leads nowhere.
    expect(within(await checklistItem("Run a first backup")).queryByRole("link")).not.toBeInTheDocument();
    expect(within(await checklistItem("Verify a backup")).queryByRole("link")).not.toBeInTheDocument();
    expect(within(await checklistItem("Connect a Docker host")).queryByRole("link")).not.toBeInTheDocument();

    const volumes = screen.getByText(/7 volumes are not backed up yet/);
    expect(within(volumes).getByRole("link", { name: "create your first plan" })).toHaveAttribute("href", "/plans/new");
  });

  it("sends the backup step to Run now and the verification to the plan's backups", async () => {
    const checklist = {
      complete: false,
      steps: steps(["host_online", "storage_target", "first_plan", "first_backup"], {
        first_verified_backup: { plan_id: "p1", artifact_id: "a1" },
      }),
      unprotected_volumes: 0,
    };
    renderWith(dashboard(checklist), OPERATOR);
    const verify = await checklistItem("Verify a backup");
    expect(await within(verify).findByRole("link", { name: "Verify it on Backups" })).toHaveAttribute("href", "/backups?plan=p1");
    expect(within(await checklistItem("Run a first backup")).getByRole("checkbox")).toBeChecked();
    expect(screen.queryByText(/not backed up yet/)).not.toBeInTheDocument();

    cleanup();
    renderWith(
      dashboard({ complete: false, steps: steps(["host_online", "first_plan"], { first_backup: { plan_id: "p1" } }), unprotected_volumes: 2 }),
      OPERATOR,
    );
    const run = await checklistItem("Run a first backup");
    expect(await within(run).findByRole("link", { name: "Run it now on Plans" })).toHaveAttribute("href", "/plans");
    const volumes = screen.getByText(/2 volumes are not backed up yet by any enabled plan/);
    expect(within(volumes).getByRole("link", { name: "see them on Resources" })).toHaveAttribute("href", "/resources");
  });

  it("tells an operator that an admin adds the storage target instead of linking to Settings", async () => {
    renderWith(dashboard({ complete: false, steps: steps(["host_online"]), unprotected_volumes: 1 }), OPERATOR);
    const storage = await checklistItem("Add an off-site storage target");
    await within(await checklistItem("Create a backup plan")).findByRole("link", { name: "Create a plan" });
    expect(within(storage).queryByRole("link")).not.toBeInTheDocument();
    expect(storage).toHaveTextContent("An admin adds it in Settings.");
  });

  it("gives a viewer no link it cannot use, only who can do each step", async () => {
    renderWith(
      dashboard({
        complete: false,
        steps: steps(["host_online", "storage_target"], { first_backup: { plan_id: "p1" } }),
        unprotected_volumes: 3,
      }),
      [],
    );
    const plan = await checklistItem("Create a backup plan");
    expect(plan).toHaveTextContent("An operator or admin creates it.");
    expect(await checklistItem("Run a first backup")).toHaveTextContent("An operator or admin can run it now");
    const list = screen.getByRole("list", { name: "Getting started" });
    expect(within(list).queryAllByRole("link")).toHaveLength(0);
    const volumes = screen.getByText(/3 volumes are not backed up yet/);
    expect(within(volumes).getByRole("link", { name: "see them on Resources" })).toBeInTheDocument();
  });

  it("disappears once every step is done", async () => {
    renderWith(dashboard({ complete: true, steps: steps(["host_online", "storage_target", "first_plan", "first_backup", "first_verified_backup"]), unprotected_volumes: 0 }), ADMIN);
    await screen.findByRole("heading", { name: "Jobs, last 24 h" });
    expect(screen.queryByRole("heading", { name: "Getting started" })).not.toBeInTheDocument();
    expect(screen.queryByRole("list", { name: "Getting started" })).not.toBeInTheDocument();
  });

  it("asks to enable a plan that exists but is disabled", async () => {
    renderWith(
      dashboard({ complete: false, steps: steps(["host_online"], { first_plan: { plan_id: "p9" } }), unprotected_volumes: 0 }),
      OPERATOR,
    );
    const plan = await checklistItem("Create a backup plan");
    expect(await within(plan).findByRole("link", { name: "Enable it on Plans" })).toHaveAttribute("href", "/plans");
  });
});
