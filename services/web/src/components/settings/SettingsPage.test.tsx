import { jsonBody as json } from "../../lib/testSupport";
import { cleanup, screen, within } from "@testing-library/react";
import { renderWithApp } from "../../lib/renderWithApp";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { SettingsPage } from "../../pages/Settings";

const ADMIN = [
  "GET /settings",
  "POST /settings/targets",
  "PUT /settings/targets/{target_id}",
  "DELETE /settings/targets/{target_id}",
  "POST /settings/targets/{target_id}/test",
  "POST /settings/targets/test",
  "GET /resources/hosts",
  "PUT /settings/smtp",
  "POST /settings/smtp/test",
  "POST /settings/webhooks",
  "POST /settings/webhooks/test",
  "PUT /settings/defaults",
  "PUT /restores/lock",
  "GET /repositories",
  "POST /repositories/{host_id}/{name}/recovery-sheet",
];

const REPOSITORY = {
  host_id: "h1",
  name: "plan-p1",
  plan_id: "p1",
  plan_name: "nightly",
  created_at: "2026-12-01T03:00:00Z",
  snapshots: 4,
  added_bytes: 5 * 1024 * 1024,
};

const SETTINGS = {
  revision: 3,
  targets: [
    {
      target_id: "offsite",
      endpoint: "minio.lan:9000",
      secure: false,
      region: null,
      bucket: "backups",
      prefix: "",
      part_size_bytes: 64 * 1024 * 1024,
      verify_full_read: false,
      access_key: { set: true },
      secret_key: { set: true },
      updated_at: "2026-11-26T19:00:00Z",
    },
  ],
  smtp: null,
  webhooks: [],
  defaults: { default_compression: "zstd", ui_base_url: null, updated_at: null },
};


function stubApi(allowed: string[], hosts: string[] = ["h1"]) {
  const sent: { method: string; path: string; search: string; body: unknown }[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: Request) => {
      const url = new URL(input.url);
      const path = url.pathname.replace(/^\/api/, "");
      const text = input.method === "GET" ? "" : await input.clone().text();
      sent.push({ method: input.method, path, search: url.search, body: text ? JSON.parse(text) : null });
      if (path === "/resources/hosts") return json(hosts.map((host_id) => ({ host_id })));
      if (path === "/auth/permissions") return json({ role: "x", must_change_password: false, allowed });
      if (path === "/users/me") return json({ username: "u", mfa_enabled: false });
      if (path === "/settings") return json(SETTINGS);
      if (path === "/restores/lock") return json({ locked: false, reason: null, changed_by: null, changed_at: null });
      if (path === "/repositories") return json([REPOSITORY]);
      if (path === "/repositories/h1/plan-p1/recovery-sheet" && input.method === "POST") {
        return json({
          host_id: "h1",
          name: "plan-p1",
          plan_id: "p1",
          location: "<data dir>/repositories/plan-p1",
          password: "s3cret-pass",
          text: "DockBack recovery sheet\nPassword:    s3cret-pass\n",
        });
      }
      if (path === "/settings/targets/offsite/test") return json({ error: "no_responder", detail: "no uploader answered" }, 503);
      if (path === "/settings/targets/test") {
        return json({ ok: true, detail: "bucket new-bucket is reachable", answered_by: "uploader on host h1", checked_at: "2026-12-06T23:00:00Z" });
      }
      if (path === "/settings/smtp/test" || path === "/settings/webhooks/test") {
        return json({ ok: false, detail: "connection refused by mail.lan:25", answered_by: "notifier", checked_at: "2026-12-06T23:00:00Z" });
      }
      if (path === "/settings/targets/offsite" && input.method === "PUT") return json(SETTINGS.targets[0]);
      if (path === "/settings/smtp" && input.method === "PUT") {
        return json({ error: "invalid", detail: "host: no such host", fields: { host: "no such host" } }, 422);
      }
      return json({ detail: "not stubbed" }, 404);
    }),
  );
  return sent;
}

function renderPage() {
  renderWithApp(<SettingsPage />, "/settings");
}

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("SettingsPage", () => {
  it("lists repositories and gives an admin the recovery sheet to download, sent only when asked", async () => {
    const sent = stubApi(ADMIN);
    const user = userEvent.setup();
    renderPage();
    const table = await screen.findByRole("table", { name: "Repositories" });
    expect(within(table).getByText("nightly")).toBeInTheDocument();
    expect(screen.getByText(/cannot be read if\s+DockBack's database is lost/)).toBeInTheDocument();
    expect(sent.some((s) => s.path.endsWith("/recovery-sheet"))).toBe(false);
    await user.click(within(table).getByRole("button", { name: "Export recovery sheet" }));
    expect(await screen.findByLabelText("Recovery sheet of plan-p1")).toHaveTextContent("s3cret-pass");
    expect(screen.getByRole("link", { name: "Download it" })).toHaveAttribute("download", "dockback-recovery-h1-plan-p1.txt");
  });

  it("shows an operator the repositories but no recovery sheet", async () => {
    stubApi(["GET /settings", "GET /repositories"]);
    renderPage();
    const table = await screen.findByRole("table", { name: "Repositories" });
    expect(within(table).queryByRole("button", { name: "Export recovery sheet" })).toBeNull();
  });

  it("shows a readable message when no uploader answers the test", async () => {
    stubApi(ADMIN);
    const user = userEvent.setup();
    renderPage();
    const table = await screen.findByRole("table", { name: "S3 targets" });
    await user.click(within(table).getByRole("button", { name: "Test" }));
    expect(await screen.findByText(/No uploader answered the check/)).toBeInTheDocument();
  });

  it("tests a target from the host the admin picks when there are several", async () => {
    const sent = stubApi(ADMIN, ["h1", "h2"]);
    const user = userEvent.setup();
    renderPage();
    await user.selectOptions(await screen.findByLabelText("Test from host"), "h2");
    await user.click(within(screen.getByRole("table", { name: "S3 targets" })).getByRole("button", { name: "Test" }));
    await screen.findByText(/No uploader answered the check/);
    const test = sent.find((s) => s.method === "POST" && s.path === "/settings/targets/offsite/test");
    expect(test?.search).toBe("?host_id=h2");
  });

  it("asks no host to test from when there is only one", async () => {
    const sent = stubApi(ADMIN);
    const user = userEvent.setup();
    renderPage();
    const table = await screen.findByRole("table", { name: "S3 targets" });
    await user.click(within(table).getByRole("button", { name: "Test" }));
    await screen.findByText(/No uploader answered the check/);
    expect(screen.queryByLabelText("Test from host")).toBeNull();
    expect(sent.find((s) => s.path === "/settings/targets/offsite/test")?.search).toBe("");
  });

  it("tests a new target as typed, from a provider preset, without saving it", async () => {
    const sent = stubApi(ADMIN);
    const user = userEvent.setup();
    renderPage();
    await user.click(await screen.findByRole("button", { name: "Add a target" }));
    await user.selectOptions(screen.getByLabelText("Provider"), "Wasabi");
    expect(screen.getByLabelText("Endpoint")).toHaveValue("s3.eu-central-1.wasabisys.com");
    expect(screen.getByLabelText("Region")).toHaveValue("eu-central-1");
    await user.type(screen.getByLabelText("Target id"), "wasabi");
    await user.type(screen.getByLabelText("Bucket"), "new-bucket");
    await user.type(screen.getByLabelText("Access key"), "AK");
    await user.type(screen.getByLabelText("Secret key"), "SK");
    await user.click(screen.getByRole("button", { name: "Test these values" }));
    expect(await screen.findByText(/bucket new-bucket is reachable/)).toBeInTheDocument();
    const test = sent.find((s) => s.method === "POST" && s.path === "/settings/targets/test");
    expect(test?.body).toMatchObject({ target_id: "wasabi", endpoint: "s3.eu-central-1.wasabisys.com", bucket: "new-bucket", secret_key: "SK" });
    expect(sent.some((s) => s.method === "POST" && s.path === "/settings/targets")).toBe(false);
  });

  it("keeps stored keys when the edit form leaves them empty", async () => {
    const sent = stubApi(ADMIN);
    const user = userEvent.setup();
    renderPage();
    await user.click(await screen.findByRole("button", { name: "Edit" }));
    expect(screen.getByLabelText("Secret key")).toHaveValue("");
    expect(screen.getAllByText("stored — leave empty to keep").length).toBeGreaterThan(0);
    await user.click(screen.getByRole("button", { name: "Save target" }));
    const put = sent.find((s) => s.method === "PUT" && s.path === "/settings/targets/offsite");
    expect(put?.body).not.toHaveProperty("secret_key");
    expect(put?.body).not.toHaveProperty("access_key");
  });

  it("refuses an empty part size by its name, with the cursor in it, without asking the API", async () => {
    const sent = stubApi(ADMIN);
    const user = userEvent.setup();
    renderPage();
    await user.click(await screen.findByRole("button", { name: "Edit" }));
    const partSize = screen.getByLabelText("Part size (MiB)");
    await user.clear(partSize);
    expect(partSize).toHaveValue(null); // empty while editing, no default put back
    await user.click(screen.getByRole("button", { name: "Save target" }));
    expect(await screen.findByText("Part size (MiB): enter a number from 5 to 5120")).toBeInTheDocument();
    expect(partSize).toHaveFocus();
    expect(screen.getByText(/Not saved: check Part size \(MiB\)/)).toBeInTheDocument();
    expect(sent.some((s) => s.method === "PUT")).toBe(false);
    await user.type(partSize, "16");
    expect(screen.queryByText("Part size (MiB): enter a number from 5 to 5120")).toBeNull();
  });

  it("drops the API's message on a field once the field changes", async () => {
    stubApi(ADMIN);
    const user = userEvent.setup();
    renderPage();
    await user.type(await screen.findByLabelText("Host"), "mail.lan");
    await user.click(screen.getByRole("button", { name: "Save SMTP settings" }));
    const message = await screen.findByText("no such host");
    expect(screen.getByLabelText("Host")).toHaveFocus();
    await user.type(screen.getByLabelText("Host"), "x");
    expect(message).not.toBeInTheDocument();
  });

  it("sends a test mail through the SMTP values as typed, before they are saved", async () => {
    const sent = stubApi(ADMIN);
    const user = userEvent.setup();
    renderPage();
    await user.type(await screen.findByLabelText("Host"), "mail.lan");
    await user.clear(screen.getByLabelText("Port"));
    await user.type(screen.getByLabelText("Port"), "25");
    await user.type(screen.getByLabelText("From"), "dockback@example.net");
    await user.type(screen.getByLabelText("To"), "ops@example.net");
    await user.click(screen.getByRole("button", { name: "Send test mail" }));
    expect(await screen.findByText(/connection refused by mail\.lan:25/)).toBeInTheDocument();
    const test = sent.find((s) => s.method === "POST" && s.path === "/settings/smtp/test");
    expect(test?.body).toMatchObject({ host: "mail.lan", port: 25, from_address: "dockback@example.net", recipients: ["ops@example.net"] });
    expect(test?.body).not.toHaveProperty("password"); // left empty: the stored one, if any
    expect(sent.some((s) => s.method === "PUT")).toBe(false);
  });

  it("tests a new webhook as typed, without saving it", async () => {
    const sent = stubApi(ADMIN);
    const user = userEvent.setup();
    renderPage();
    await user.click(await screen.findByRole("button", { name: "Add a webhook" }));
    await user.type(screen.getByLabelText("Webhook id"), "chat");
    await user.type(screen.getByLabelText("URL"), "https://hooks.example.net/x");
    await user.click(screen.getByRole("button", { name: "Test these values" }));
    expect(await screen.findByText(/connection refused/)).toBeInTheDocument();
    expect(sent.find((s) => s.path === "/settings/webhooks/test")?.body).toMatchObject({ webhook_id: "chat", url: "https://hooks.example.net/x" });
    expect(sent.some((s) => s.method === "POST" && s.path === "/settings/webhooks")).toBe(false);
  });

  it("gives an operator no buttons", async () => {
    stubApi(["GET /settings"]);
    renderPage();
    await screen.findByRole("table", { name: "S3 targets" });
    expect(screen.queryByRole("button")).toBeNull();
    expect(screen.queryByLabelText("Reason")).toBeNull();
  });

  it("lets an admin lock restores with a reason", async () => {
    const sent = stubApi(ADMIN);
    const user = userEvent.setup();
    renderPage();
    await user.type(await screen.findByLabelText("Reason"), "disk swap");
    await user.click(screen.getByRole("button", { name: "Lock restores" }));
    expect(sent.find((s) => s.path === "/restores/lock" && s.method === "PUT")?.body).toEqual({ locked: true, reason: "disk swap" });
  });
});
