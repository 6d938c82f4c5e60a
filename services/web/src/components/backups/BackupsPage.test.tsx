import { jsonBody as json } from "../../lib/testSupport";
import { cleanup, screen } from "@testing-library/react";
import { renderWithApp } from "../../lib/renderWithApp";
import { artifactOut } from "../../lib/testFixtures";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { BackupsPage } from "../../pages/Backups";
import { formatDateTime } from "../../lib/format";

const ARTIFACT = artifactOut();


function stubApi(allowed: string[], items: unknown[] = [ARTIFACT], onDelete?: () => Response) {
  const seen: URL[] = [];
  let listed = items;
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: Request) => {
      const url = new URL(input.url);
      seen.push(url);
      const path = url.pathname.replace(/^\/api/, "");
      if (input.method === "DELETE" && path === "/artifacts/a1") {
        const answer = onDelete ? onDelete() : json({ job_id: "d1" }, 202);
        if (answer.ok) listed = [];
        return answer;
      }
      if (path === "/auth/permissions") return json({ role: "x", must_change_password: false, allowed });
      if (path === "/users/me") return json({ username: "u", mfa_enabled: false });
      if (path === "/resources/hosts") return json([]);
      if (path === "/plans") return json([]);
      if (path === "/artifacts") return json({ items: listed, next_cursor: null });
      if (path === "/artifacts/a1/verify") return json({ job_id: "v1" }, 202);
      return json({ detail: "not stubbed" }, 404);
    }),
  );
  return seen;
}

function renderPage(entry = "/backups") {
  renderWithApp(<BackupsPage />, entry);
}

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("BackupsPage", () => {
  it("lists archives; verify now links to the verify job; restore links to the wizard", async () => {
    stubApi(["GET /artifacts", "POST /artifacts/{artifact_id}/verify", "POST /restores/preview"]);
    const user = userEvent.setup();
    renderPage();
    expect(await screen.findByTitle(ARTIFACT.sha256)).toHaveTextContent("e94a9b7c1c5f");
    expect(screen.getByText("never")).toBeInTheDocument();
    expect(screen.getByText("1 remote")).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Restore" })).toHaveAttribute("href", "/restore?artifact=a1");
    await user.click(screen.getByRole("button", { name: "Verify now" }));
    expect(await screen.findByRole("link", { name: "follow the job" })).toHaveAttribute("href", "/jobs/v1");
  });

  it("shows a snapshot by its restic id and what it added, with a restore but no archive-only actions", async () => {
    const snapshotId = "4f1c2a9be3d34c0a8f7e6d5c4b3a29180f1e2d3c4b5a69788796a5b4c3d2e1f0";
    stubApi(
      ["GET /artifacts", "POST /artifacts/{artifact_id}/verify", "POST /restores/preview", "DELETE /artifacts/{artifact_id}"],
      [artifactOut({ format: "repository", repository: "plan-p1", snapshot_id: snapshotId, sha256: "", size_bytes: 2048, raw_bytes: 1048576 })],
    );
    renderPage();
    expect(await screen.findByTitle(`restic snapshot ${snapshotId} in repository plan-p1`)).toHaveTextContent("snapshot 4f1c2a9b");
    expect(screen.getByText(/added, of/)).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Restore" })).toHaveAttribute("href", "/restore?artifact=a1");
    expect(screen.queryByRole("button", { name: "Verify now" })).toBeNull();
    expect(screen.queryByRole("button", { name: "Delete" })).toBeNull();
  });

  it("browses a volume's snapshot one directory at a time, as its host lists it", async () => {
    const snapshot = artifactOut({ format: "repository", repository: "plan-p1", snapshot_id: "ab".repeat(32), sha256: "" });
    const listings: Record<string, unknown> = {
      "/": { type: "snapshot_tree.v1", host_id: "vm", path: "/", truncated: false, entries: [
        { name: "conf", path: "/conf", type: "dir", mode: 2147484141, uid: 0, gid: 0, mtime: "2026-12-01T03:00:00Z" },
        { name: "app.db", path: "/app.db", type: "file", size: 2048, mode: 416, uid: 999, gid: 999, mtime: "2026-12-01T03:00:00Z" },
      ] },
      "/conf": { type: "snapshot_tree.v1", host_id: "vm", path: "/conf", truncated: false, entries: [
        { name: "app.ini", path: "/conf/app.ini", type: "file", size: 12, mode: 420, uid: 0, gid: 0, mtime: null },
      ] },
    };
    stubApi(["GET /artifacts", "GET /artifacts/{artifact_id}/tree", "GET /artifacts/{artifact_id}/download", "POST /restores/preview"], [snapshot]);
    const original = globalThis.fetch;
    vi.stubGlobal("fetch", vi.fn(async (input: Request) => {
      const url = new URL(input.url);
      if (url.pathname === "/api/artifacts/a1/tree") return json(listings[url.searchParams.get("path") ?? "/"]);
      return original(input);
    }));
    const user = userEvent.setup();
    renderPage();
    await user.click(await screen.findByRole("button", { name: "Browse" }));
    const top = await screen.findByRole("table", { name: "Snapshot directory /" });
    expect(top).toHaveTextContent("app.db");
    expect(top).toHaveTextContent("rw-r-----");
    expect(top).toHaveTextContent("999:999");
    await user.click(screen.getByRole("button", { name: "conf/" }));
    expect(await screen.findByRole("table", { name: "Snapshot directory /conf" })).toHaveTextContent("app.ini");
    expect(screen.getByRole("link", { name: "Download /conf/app.ini" })).toHaveAttribute(
      "href",
      "/api/artifacts/a1/download?path=%2Fconf%2Fapp.ini",
    );
    expect(screen.getByRole("link", { name: "Download /conf as a tar" })).toHaveAttribute(
      "href",
      "/api/artifacts/a1/download?path=%2Fconf",
    );
    await user.click(screen.getByRole("button", { name: "(volume)" }));
    await user.click(await screen.findByRole("checkbox", { name: "Choose /conf" }));
    await user.click(screen.getByRole("checkbox", { name: "Choose /app.db" }));
    expect(screen.getByRole("link", { name: "Download the 2 chosen entries" })).toHaveAttribute(
      "href",
      "/api/artifacts/a1/download?path=%2Fconf&path=%2Fapp.db",
    );
    expect(screen.getByRole("link", { name: "Restore the 2 chosen entries" })).toHaveAttribute(
      "href",
      "/restore?artifact=a1&path=%2Fconf&path=%2Fapp.db",
    );
  });

  it("shows a viewer no verify, restore or delete action", async () => {
    stubApi(["GET /artifacts"]);
    renderPage();
    await screen.findByTitle(ARTIFACT.sha256);
    expect(screen.queryByRole("button", { name: "Verify now" })).toBeNull();
    expect(screen.queryByRole("link", { name: "Restore" })).toBeNull();
    expect(screen.queryByRole("button", { name: "Delete" })).toBeNull();
  });

  it("deletes a backup after a confirmation naming it, and it leaves the list", async () => {
    const seen = stubApi(["GET /artifacts", "DELETE /artifacts/{artifact_id}"]);
    const user = userEvent.setup();
    renderPage();
    await screen.findByTitle(ARTIFACT.sha256);
    await user.click(screen.getByRole("button", { name: "Delete" }));
    const question = screen.getByRole("group", { name: /Delete the backup of dev-data/ });
    expect(question).toHaveTextContent(`volume dev-data from ${formatDateTime(ARTIFACT.created_at)} on vm`);
    expect(seen.some((u) => u.pathname === "/api/artifacts/a1")).toBe(false); // nothing sent before "yes"
    await user.click(screen.getByRole("button", { name: "Yes, delete it" }));
    expect(await screen.findByText(/No backups yet/)).toBeInTheDocument();
    expect(seen.filter((u) => u.pathname === "/api/artifacts/a1")).toHaveLength(1);
  });

  it("keeps the backup and shows why when the gateway refuses the deletion", async () => {
    const detail = "backup a1 (volume dev-data) is being read by restore job r1 (running): delete it once that has ended";
    stubApi(["GET /artifacts", "DELETE /artifacts/{artifact_id}"], [ARTIFACT], () =>
      json({ error: "conflict", detail }, 409),
    );
    const user = userEvent.setup();
    renderPage();
    await screen.findByTitle(ARTIFACT.sha256);
    await user.click(screen.getByRole("button", { name: "Delete" }));
    await user.click(screen.getByRole("button", { name: "Yes, delete it" }));
    expect(await screen.findByRole("alert")).toHaveTextContent(detail);
    expect(screen.getByTitle(ARTIFACT.sha256)).toBeInTheDocument();
  });

  it("sends the filters from the URL and says what to do when nothing is backed up", async () => {
    const seen = stubApi(["GET /artifacts"], []);
    renderPage("/backups?host=vm");
    expect(await screen.findByText(/No backup matches these filters/)).toBeInTheDocument();
    expect(seen.find((u) => u.pathname === "/api/artifacts")?.searchParams.get("host_id")).toBe("vm");
    cleanup();
    stubApi(["GET /artifacts"], []);
    renderPage();
    expect(await screen.findByRole("link", { name: "Go to plans" })).toHaveAttribute("href", "/plans");
  });
});
