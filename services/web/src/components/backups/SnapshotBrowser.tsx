// One directory of a volume's snapshot at a time, listed by the snapshot's host when opened.
import { useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { Link } from "react-router-dom";
import { api } from "../../api/client";
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

export function SnapshotBrowser({ artifactId }: { artifactId: string }) {
  const [path, setPath] = useState("/");
  const mayRestore = useCan()("POST", "/restores/preview");
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
      {listing.isPending ? <Loading what="Asking the host for this directory" /> : null}
      <ErrorBanner error={listing.error} />
      {listing.data ? (
        <table className="table" aria-label={`Snapshot directory ${path}`}>
          <thead>
            <tr>
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
                <td colSpan={6} className="muted">
                  Empty directory
                </td>
              </tr>
            ) : null}
            {listing.data.entries.map((entry) => (
              <tr key={entry.path}>
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
