import { jsonBody as json, SilentEventSource } from "../../lib/testSupport";
import { cleanup, screen, waitFor } from "@testing-library/react";
import { renderWithApp } from "../../lib/renderWithApp";
import { artifactOut } from "../../lib/testFixtures";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { RestorePage } from "../../pages/Restore";

const ARTIFACT = artifactOut({
  copies: 0,
  remote_copies: [],
  verifications: [],
  manifest: {},
  manifest_path: "x.json",
  prune_job_id: null,
});

function preview(name: string) {
  return {
    archive: {
      artifact_id: "a1",
      host_id: "vm",
      plan_id: null,
      resource_kind: "volume",
      resource_name: "dev-data",
      role: "dev-data",
      kind: "volume",
      created_at: ARTIFACT.created_at,
      size_bytes: 53825,
      sha256: ARTIFACT.sha256,
      verified_at: null,
    },
    target: { kind: "volume", name, replace_existing: false, allow_stop: false, same_storage_as_original: false },
    target_exists: false,
    overwrites: false,
    container: null,
    volumes: [{ name, exists: false, overwritten: false, used_by: [] }],
    stops: [],
    fetch_from: [],
    summary: `Restore volume '${name}' on host vm as a new object; nothing existing is overwritten.`,
    warnings: ["this archive has not been verified"],
    inventory_at: ARTIFACT.created_at,
    checked_on_host: true,
    checked_at: new Date().toISOString(),
    fallback: null as string | null,
    // Only a restore that overwrites something (here: the original, dev-data) needs the name typed again.
    confirm_name: name === "dev-data" ? name : null,
    token: "tok-1",
    expires_at: new Date(Date.now() + 300_000).toISOString(),
  };
}

const JOB = {
  id: "job-9",
  kind: "restore",
  host_id: "vm",
  plan_id: null,
  status: "running",
  finished: false,
  phase: "extract",
  resource_kind: "volume",
  resource_name: "restored",
  scheduled_for: null,
  requested_by: "admin",
  attempts: 1,
  republished: 0,
  bytes_done: 10,
  bytes_total: 100,
  error: null,
  retryable: null,
  cancel_requested_by: null,
  created_at: ARTIFACT.created_at,
  started_at: ARTIFACT.created_at,
  finished_at: null,
  last_event_at: null,
  events: [{ at: ARTIFACT.created_at, type: "job_started.v1", message: "started on vm", data: {} }],
  artifacts: [],
};


interface Stub {
  lock?: object;
  artifact?: object;
  preview?: (name: string) => object;
  confirm?: () => Response;
  sent: { path: string; body: unknown }[];
}

function stubApi(stub: Stub) {
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: Request) => {
      const url = new URL(input.url);
      const path = url.pathname.replace(/^\/api/, "");
      const text = input.method === "GET" ? "" : await input.clone().text();
      const body = text ? JSON.parse(text) : null;
      stub.sent.push({ path, body });
      if (path === "/auth/permissions")
        return json({ role: "admin", must_change_password: false, allowed: ["POST /restores/preview", "POST /restores", "PUT /restores/lock"] });
      if (path === "/users/me") return json({ username: "admin", mfa_enabled: false });
      if (path === "/restores/lock") return json(stub.lock ?? { locked: false, reason: null, changed_by: null, changed_at: null });
      if (path === "/artifacts/a1") return json(stub.artifact ?? ARTIFACT);
      if (path === "/resources/containers") return json([{ name: "web" }]);
      if (path === "/resources/volumes") return json([{ name: "dev-data" }, { name: "dev-data-restored" }]);
      if (path === "/artifacts") return json({ items: [ARTIFACT], next_cursor: null });
      if (path === "/restores/preview") return json((stub.preview ?? preview)(body.target.name));
      if (path === "/restores") return stub.confirm ? stub.confirm() : json({ job_id: "job-9", host_id: "vm", status: "queued" }, 202);
      if (path === "/jobs/job-9") return json(JOB);
      return json({ detail: "not stubbed" }, 404);
    }),
  );
}

function renderAt(entry: string) {
  renderWithApp(<RestorePage />, entry);
}

beforeEach(() => vi.stubGlobal("EventSource", SilentEventSource));
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("RestorePage", () => {
  it("restores only the paths the snapshot browser chose (?path=), sending them with the preview", async () => {
    const stub: Stub = { sent: [] };
    stubApi(stub);
    const user = userEvent.setup();
    renderAt("/restore?artifact=a1&path=%2Fconf%2Fapp.ini&path=%2Fdata");
    await waitFor(() => expect(stub.sent.some((s) => s.path === "/resources/volumes")).toBe(true));
    await user.click(await screen.findByLabelText("New volume"));
    await user.click(screen.getByRole("button", { name: "Preview" }));
    await screen.findByText(/as a new object; nothing existing is overwritten/);
    expect(stub.sent.find((s) => s.path === "/restores/preview")?.body).toMatchObject({ paths: ["/conf/app.ini", "/data"] });
  });

  it("restores into a new volume: a suggested free name, preview, a plain Confirm, follow", async () => {
    const stub: Stub = { sent: [] };
    stubApi(stub);
    const user = userEvent.setup();
    renderAt("/restore?artifact=a1");

    await waitFor(() => expect(stub.sent.some((s) => s.path === "/resources/volumes")).toBe(true));
    await user.click(await screen.findByLabelText("New volume"));
    // dev-data and dev-data-restored exist on the host: the next free name is prefilled.
    expect(screen.getByLabelText("New name")).toHaveValue("dev-data-restored-2");
    // a volume's rule: its length, and none of an image reference's ':', '/' or '@'
    const rule = screen.getByText(/^Letters, digits, '_', '\.' or '-', starting with a letter or a digit; at most 255 characters\.$/);
    expect(rule.textContent).not.toMatch(/[:/@]'/);
    await user.click(screen.getByRole("button", { name: "Preview" }));
    expect(await screen.findByText(/as a new object; nothing existing is overwritten/)).toBeInTheDocument();
    expect(stub.sent.find((s) => s.path === "/restores/preview")?.body).toEqual({
      artifact_id: "a1",
      target: {
        kind: "volume",
        name: "dev-data-restored-2",
        replace_existing: false,
        allow_stop: false,
        same_storage_as_original: false,
      },
      backup_first: true,
      paths: [],
    });

    await user.click(screen.getByRole("button", { name: "Continue" }));
    expect(screen.queryByLabelText("Type the target name to confirm")).not.toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Confirm" }));

    // waitFor, not findBy: under load the follow step can render the badge twice, and the first
    // element findBy returned may already be gone when the expectation reads it.
    await waitFor(() => expect(screen.getByText("running")).toBeInTheDocument());
    expect(screen.getByText("started on vm", { exact: false })).toBeInTheDocument();
    expect(screen.getByText("10 B of 100 B (10%)")).toBeInTheDocument(); // a running restore's figure of its total
    expect(screen.getByRole("link", { name: "Open the job" })).toHaveAttribute("href", "/jobs/job-9");
    expect(stub.sent.find((s) => s.path === "/restores")?.body).toEqual({ token: "tok-1" });
  });

  it("backs up the current data first when replacing the original, unless unticked", async () => {
    const stub: Stub = { sent: [] };
    stubApi(stub);
    const user = userEvent.setup();
    renderAt("/restore?artifact=a1");

    const first = await screen.findByLabelText("Back up the current data first");
    expect(first).toBeChecked();
    await user.click(first);
    await user.click(screen.getByRole("button", { name: "Preview" }));
    await user.click(await screen.findByRole("button", { name: "Continue" }));
    expect(stub.sent.find((s) => s.path === "/restores/preview")?.body).toMatchObject({
      target: { name: "dev-data", replace_existing: true },
      backup_first: false,
    });
    // Overwriting: the name is still typed again.
    const restore = screen.getByRole("button", { name: "Restore" });
    expect(restore).toBeDisabled();
    await user.type(screen.getByLabelText("Type the target name to confirm"), "dev-data");
    await user.click(restore);
    await waitFor(() =>
      expect(stub.sent.find((s) => s.path === "/restores")?.body).toEqual({ token: "tok-1", confirm_name: "dev-data" }),
    );
  });

  it("offers to back up a container and its volumes first when replacing the original container", async () => {
    const stub: Stub = { sent: [], artifact: { ...ARTIFACT, kind: "config", role: "config", resource: { kind: "container", name: "web" } } };
    stubApi(stub);
    renderAt("/restore?artifact=a1");

    const first = await screen.findByLabelText("Back up the current data first");
    expect(first).toBeChecked();
    expect(screen.getByText(/a backup of what the container and its volumes hold now is taken before it is replaced/)).toBeInTheDocument();
  });

  it("links the backup of the current data the restore takes first", async () => {
    const stub: Stub = {
      sent: [],
      confirm: () => json({ job_id: "job-9", backup_job_id: "job-b", host_id: "vm", status: "queued" }, 202),
    };
    stubApi(stub);
    const user = userEvent.setup();
    renderAt("/restore?artifact=a1");

    expect(await screen.findByLabelText("Back up the current data first")).toBeChecked();
    await user.click(screen.getByRole("button", { name: "Preview" }));
    await user.click(await screen.findByRole("button", { name: "Continue" }));
    expect(stub.sent.find((s) => s.path === "/restores/preview")?.body).toMatchObject({ backup_first: true });
    await user.type(screen.getByLabelText("Type the target name to confirm"), "dev-data");
    await user.click(screen.getByRole("button", { name: "Restore" }));
    expect(await screen.findByRole("link", { name: "the backup of the current data" })).toHaveAttribute("href", "/jobs/job-b");
  });

  it("asks for the original's driver and options only when ticked, and shows where that writes", async () => {
    const written = "The new volume 'restored' gets the original's driver and options, so it writes into the host directory /srv/app.";
    const stub: Stub = { sent: [], preview: (name) => ({ ...preview(name), storage: written, original_storage: "the host directory /srv/app" }) };
    stubApi(stub);
    const user = userEvent.setup();
    renderAt("/restore?artifact=a1");

    await user.click(await screen.findByLabelText("New volume"));
    await user.clear(screen.getByLabelText("New name"));
    await user.type(screen.getByLabelText("New name"), "restored");
    const same = screen.getByLabelText("Same driver and options as the original");
    expect(same).not.toBeChecked();
    await user.click(same);
    await user.click(screen.getByRole("button", { name: "Preview" }));
    expect(await screen.findByText(written)).toBeInTheDocument();
    expect(screen.getByText("the host directory /srv/app")).toBeInTheDocument();
    expect(stub.sent.find((s) => s.path === "/restores/preview")?.body).toMatchObject({
      target: { kind: "volume", name: "restored", same_storage_as_original: true },
    });
  });

  it("offers no storage choice when restoring over the original", async () => {
    stubApi({ sent: [] });
    renderAt("/restore?artifact=a1");
    await screen.findByRole("button", { name: "Preview" });
    expect(screen.queryByLabelText("Same driver and options as the original")).not.toBeInTheDocument();
  });

  it("sends an expired token back to the preview with the API's message", async () => {
    const stub: Stub = {
      sent: [],
      confirm: () => json({ error: "conflict", detail: "this confirmation token expired at 12:00: preview again" }, 409),
    };
    stubApi(stub);
    const user = userEvent.setup();
    renderAt("/restore?artifact=a1");
    await user.click(await screen.findByRole("button", { name: "Preview" }));
    await user.click(await screen.findByRole("button", { name: "Continue" }));
    await user.type(screen.getByLabelText("Type the target name to confirm"), "dev-data");
    await user.click(screen.getByRole("button", { name: "Restore" }));
    expect(await screen.findByText(/token expired at 12:00/)).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Preview again" }));
    expect(await screen.findByRole("button", { name: "Continue" })).toBeInTheDocument();
  });

  it("says when the host did not answer and the preview is from its inventory", async () => {
    const fallback =
      "Host vm did not answer within 2 s: this preview is from the host's inventory of 2026-12-06 02:40:00 UTC, " +
      "so a container created or started since then is not listed. The executor checks the target again before it writes.";
    stubApi({ sent: [], preview: (name) => ({ ...preview(name), checked_on_host: false, checked_at: null, fallback }) });
    const user = userEvent.setup();
    renderAt("/restore?artifact=a1");
    await user.click(await screen.findByRole("button", { name: "Preview" }));
    expect(await screen.findByText("Not checked on the host.")).toBeInTheDocument();
    expect(screen.getByText(fallback, { exact: false })).toBeInTheDocument();
    expect(screen.getByText(/the host's last inventory$/)).toBeInTheDocument();
  });

  it("says nothing of a fallback when the host answered", async () => {
    stubApi({ sent: [] });
    const user = userEvent.setup();
    renderAt("/restore?artifact=a1");
    await user.click(await screen.findByRole("button", { name: "Preview" }));
    expect(await screen.findByText(/checked on the host$/)).toBeInTheDocument();
    expect(screen.queryByText("Not checked on the host.")).not.toBeInTheDocument();
  });

  it("shows the lock and disables the flow; an admin may lift it", async () => {
    stubApi({ sent: [], lock: { locked: true, reason: "migration", changed_by: "admin", changed_at: ARTIFACT.created_at } });
    renderAt("/restore?artifact=a1");
    expect(await screen.findByText(/Restores are locked by admin since .*: migration/)).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Lift the lock" })).toBeInTheDocument();
    await waitFor(() => expect(screen.getByRole("button", { name: "Preview" })).toBeDisabled());
  });
});
