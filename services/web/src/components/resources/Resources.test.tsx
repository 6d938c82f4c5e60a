import { jsonBody as json } from "../../lib/testSupport";
import { cleanup, render, screen, waitFor, within } from "@testing-library/react";
import { renderWithApp } from "../../lib/renderWithApp";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ResourcesPage } from "../../pages/Resources";
import { filtersFrom, queryOf } from "./filters";
import { MemoryRouter } from "react-router-dom";
import { DataDirSpace, HostsTable } from "./ResourceTables";

interface Seen {
  method: string;
  path: string;
  query: URLSearchParams;
  body: unknown;
}

const HOST = {
  host_id: "h1",
  online: true,
  heartbeat_at: new Date().toISOString(),
  heartbeat_interval_seconds: 10,
  executor_version: "0.1.0",
  running_job_ids: [],
  executors: 1,
  data_dir_free_bytes: null,
  data_dir_total_bytes: null,
  data_dir_space_low: false,
  inventory_at: null,
  first_seen_at: new Date().toISOString(),
  engine: null,
  containers: 1,
  running_containers: 1,
  volumes: 1,
  images: 0,
};

const VOLUME = {
  host_id: "h1",
  host_online: true,
  name: "dev-data",
  driver: "local",
  labels: {},
  compose_project: null,
  size_bytes: 2048,
  used_by: [],
  protected: false,
  protected_by: [],
  last_backup_at: null,
  last_verified_at: null,
};


function stubApi(allowed: string[], jobAnswer: () => Response = () => json({ id: "job-1", status: "queued" }, 202)) {
  const seen: Seen[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: Request) => {
      const url = new URL(input.url);
      const text = input.method === "GET" ? "" : await input.clone().text();
      const path = url.pathname.replace(/^\/api/, "");
      seen.push({ method: input.method, path, query: url.searchParams, body: text ? JSON.parse(text) : null });
      if (path === "/auth/permissions") return json({ role: "operator", must_change_password: false, allowed });
      if (path === "/users/me") return json({ username: "oper", mfa_enabled: false });
      if (path === "/resources/hosts") return json([HOST]);
      if (path === "/resources/volumes") return json([VOLUME]);
      if (path === "/jobs" && input.method === "POST") return jobAnswer();
      return json({ detail: "not stubbed" }, 404);
    }),
  );
  return seen;
}

function renderPage(entry = "/resources") {
  renderWithApp(<ResourcesPage />, entry);
}

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("resources filters", () => {
  it("send the host, name and protection to the API", async () => {
    const seen = stubApi(["POST /jobs"]);
    renderPage();
    const user = userEvent.setup();
    await screen.findByText("dev-data");
    await user.selectOptions(screen.getByLabelText("Host"), "h1");
    await user.type(screen.getByLabelText("Name"), "dev");
    await user.selectOptions(screen.getByLabelText("Protection"), "unprotected");
    await waitFor(() => {
      const last = seen.filter((s) => s.path === "/resources/volumes").at(-1);
      expect(last?.query.get("host_id")).toBe("h1");
      expect(last?.query.get("name")).toBe("dev");
      expect(last?.query.get("protected")).toBe("false");
    });
  });

  it("turn the URL into the query of each tab", () => {
    const filters = filtersFrom(new URLSearchParams("tab=images&host=h1&name=%20web%20&protection=protected"));
    expect(queryOf(filters)).toEqual({ host_id: "h1", name: "web" });
    expect(queryOf({ ...filters, tab: "containers" })).toEqual({ host_id: "h1", name: "web", protected: true });
    expect(queryOf({ ...filters, tab: "hosts" })).toEqual({ host_id: "h1" });
  });
});

describe("back up now", () => {
  it("starts an ad-hoc backup of the volume and links to its job", async () => {
    const seen = stubApi(["POST /jobs"]);
    renderPage();
    const row = (await screen.findByText("dev-data")).closest("tr") as HTMLElement;
    await userEvent.setup().click(within(row).getByRole("button", { name: "Back up now" }));
    const link = await within(row).findByRole("link", { name: "Backup started: view job" });
    expect(link).toHaveAttribute("href", "/jobs/job-1");
    expect(seen.find((s) => s.method === "POST")?.body).toEqual({
      host_id: "h1",
      resource: { kind: "volume", name: "dev-data" },
    });
  });

  it("shows the API's refusal", async () => {
    stubApi(["POST /jobs"], () => json({ error: "conflict", detail: "host h1 is offline" }, 409));
    renderPage();
    const row = (await screen.findByText("dev-data")).closest("tr") as HTMLElement;
    await userEvent.setup().click(within(row).getByRole("button", { name: "Back up now" }));
    expect(await within(row).findByRole("alert")).toHaveTextContent("host h1 is offline");
  });

  it("is not offered to a role that may not run jobs", async () => {
    stubApi([]);
    renderPage();
    await screen.findByText("dev-data");
    expect(screen.queryByRole("button", { name: "Back up now" })).not.toBeInTheDocument();
  });
});

describe("data dir free space", () => {
  it("shows a host's free space, with a warning when it is low", () => {
    render(
      <DataDirSpace
        host={{ ...HOST, data_dir_free_bytes: 512 * 2 ** 20, data_dir_total_bytes: 2 * 2 ** 30, data_dir_space_low: true }}
      />,
    );
    expect(screen.getByText(/512 MiB of 2\.0 GiB/)).toBeInTheDocument();
    expect(screen.getByText("Free space low")).toBeInTheDocument();
  });

  it("shows no warning when there is room, and a dash when the host does not report it", () => {
    const { container } = render(
      <DataDirSpace
        host={{ ...HOST, data_dir_free_bytes: 50 * 2 ** 30, data_dir_total_bytes: 100 * 2 ** 30, data_dir_space_low: false }}
      />,
    );
    expect(container).toHaveTextContent("50 GiB of 100 GiB");
    expect(screen.queryByText("Free space low")).not.toBeInTheDocument();
    cleanup();
    render(<DataDirSpace host={HOST} />);
    expect(screen.getByText("—")).toBeInTheDocument();
  });
});

describe("hosts table", () => {
  it("says how many executor processes share a host's work when more than one", () => {
    render(
      <MemoryRouter>
        <HostsTable hosts={[{ ...HOST, host_id: "pair", executors: 2 }, { ...HOST, host_id: "single" }]} />
      </MemoryRouter>,
    );
    expect(screen.getByRole("row", { name: /pair/ })).toHaveTextContent("0.1.0 (2 processes)");
    expect(screen.getByRole("row", { name: /single/ })).not.toHaveTextContent("processes");
  });
});
