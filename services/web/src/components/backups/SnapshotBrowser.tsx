// One directory of a volume's snapshot at a time, listed by the snapshot's host when opened;
// files and directories chosen here are restored, or downloaded as the host streams them.
import { useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { Link } from "react-router-dom";
import { API_BASE, api } from "../../api/client";
import { unwrap } from "../../api/errors";
import { useCan } from "../../auth/session";
import { formatBytes, formatDateTime } from "../../lib/format";
import { ErrorBanner, Loading } from "../ui";

/** Go's os.FileMode permission bits as `rwxr-x---`. */
function permissions(mode: number | null | undefined): string {
  if (mode == null) return "";
  const bits = "rwxrwxrwx";
  return Array.from(bits, (letter, i) => ((mode >> (8 - i)) & 1 ? letter : "-")).join("");
}

/** The download route for these paths: one file as it is, else a tar. */
function downloadUrl(artifactId: string, paths: string[]): string {
  const query = new URLSearchParams(paths.map((p) => ["path", p]));
  return `${API_BASE}/artifacts/${artifactId}/download?${query}`;
}

/** The browser downloads it itself (streamed to disk, any size); the session is renewed first
 *  when it has expired, as a plain link could not. */
async function startDownload(url: string): Promise<void> {
  await api.GET("/auth/permissions");
  const link = document.createElement("a");
  link.href = url;
  link.download = "";
  document.body.appendChild(link);
  link.click();
  link.remove();
}

function DownloadLink({ url, label, children }: { url: string; label: string; children: React.ReactNode }) {
  return (
    <a
      className="small"
      href={url}
      aria-label={label}
      download
      onClick={(event) => {
        event.preventDefault();
        void startDownload(url);
      }}
    >
      {children}
    </a>
  );
}

export function SnapshotBrowser({ artifactId }: { artifactId: string }) {
  const [path, setPathOnly] = useState("/");
  const [chosen, setChosen] = useState<string[]>([]);
  const setPath = (next: string) => {
    setPathOnly(next);
    setChosen([]);
  };
  const can = useCan();
  const mayRestore = can("POST", "/restores/preview");
  const mayDownload = can("GET", "/artifacts/{artifact_id}/download");
  const toggle = (entryPath: string) =>
    setChosen((now) => (now.includes(entryPath) ? now.filter((p) => p !== entryPath) : [...now, entryPath]));
  const listing = useQuery({
    queryKey: ["artifact-tree", artifactId, path],
    queryFn: async () =>
      unwrap(await api.GET("/artifacts/{artifact_id}/tree", { params: { path: { artifact_id: artifactId }, query: { path } } })),
  });
  const parts = path.split("/").filter(Boolean);
  return (
    <div className="snapshot-browser">
      <nav aria-label="Snapshot path" className="small">
        <button type="button" className="link" onClick={() => setPath("/")}>
          (volume)
        </button>
        {parts.map((part, i) => (
          <span key={i}>
            {" / "}
            <button type="button" className="link" onClick={() => setPath("/" + parts.slice(0, i + 1).join("/"))}>
              {part}
            </button>
          </span>
        ))}
      </nav>
      {mayRestore && chosen.length > 0 ? (
        <p className="small">
          <Link
            aria-label={`Restore the ${chosen.length} chosen entries`}
            to={`/restore?${new URLSearchParams([["artifact", artifactId], ...chosen.map((p) => ["path", p])])}`}
          >
            Restore the chosen ({chosen.length})
          </Link>
        </p>
      ) : null}
      {mayDownload ? (
        <p className="small">
          <DownloadLink url={downloadUrl(artifactId, [path])} label={`Download ${path} as a tar`}>
            Download this directory (tar)
          </DownloadLink>
          {chosen.length > 0 ? (
            <>
              {" · "}
              <DownloadLink
                url={downloadUrl(artifactId, chosen)}
                label={`Download the ${chosen.length} chosen entries`}
              >
                {chosen.length === 1 ? "Download the chosen entry" : `Download the ${chosen.length} chosen entries (tar)`}
              </DownloadLink>
            </>
          ) : null}
        </p>
      ) : null}
      {listing.isPending ? <Loading what="Asking the host for this directory" /> : null}
      <ErrorBanner error={listing.error} />
      {listing.data ? (
        <table className="table" aria-label={`Snapshot directory ${path}`}>
          <thead>
            <tr>
              {mayDownload ? <th aria-label="Chosen" /> : null}
              <th>Name</th>
              <th>Size</th>
              <th>Mode</th>
              <th>Owner</th>
              <th>Modified</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {listing.data.entries.length === 0 ? (
              <tr>
                <td colSpan={mayDownload ? 7 : 6} className="muted">
                  Empty directory
                </td>
              </tr>
            ) : null}
            {listing.data.entries.map((entry) => (
              <tr key={entry.path}>
                {mayDownload ? (
                  <td>
                    {entry.type === "file" || entry.type === "dir" ? (
                      <input
                        type="checkbox"
                        aria-label={`Choose ${entry.path}`}
                        checked={chosen.includes(entry.path)}
                        onChange={() => toggle(entry.path)}
                      />
                    ) : null}
                  </td>
                ) : null}
                <td>
                  {entry.type === "dir" ? (
                    <button type="button" className="link" onClick={() => setPath(entry.path)}>
                      {entry.name}/
                    </button>
                  ) : (
                    <span>
                      {entry.name} {entry.type !== "file" ? <span className="muted small">({entry.type})</span> : null}
                    </span>
                  )}
                </td>
                <td>{entry.size == null ? "" : formatBytes(entry.size)}</td>
                <td>
                  <code>{permissions(entry.mode)}</code>
                </td>
                <td>
                  {entry.uid ?? ""}:{entry.gid ?? ""}
                </td>
                <td>{entry.mtime ? formatDateTime(entry.mtime) : ""}</td>
                <td>
                  {mayRestore && (entry.type === "file" || entry.type === "dir") ? (
                    <Link
                      className="small"
                      aria-label={`Restore ${entry.path}`}
                      to={`/restore?artifact=${artifactId}&path=${encodeURIComponent(entry.path)}`}
                    >
                      Restore
                    </Link>
                  ) : null}
                  {mayDownload && (entry.type === "file" || entry.type === "dir") ? (
                    <>
                      {" "}
                      <DownloadLink url={downloadUrl(artifactId, [entry.path])} label={`Download ${entry.path}`}>
                        {entry.type === "dir" ? "Download (tar)" : "Download"}
                      </DownloadLink>
                    </>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {listing.data?.truncated ? <p className="muted small">The directory holds more entries than are listed here.</p> : null}
    </div>
  );
}
