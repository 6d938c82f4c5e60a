// Rows of the audit log: when, who, what, to what, from where.
import { Link } from "react-router-dom";
import type { Schemas } from "../../api/client";
import { targetLink } from "./auditLinks";
import { formatDateTime } from "../../lib/format";
import { StatusBadge } from "../ui";
import { DataTable } from "../DataTable";

type Entry = Schemas["AuditEntryOut"];

/** The entry's details as one short line ("from: viewer · to: operator"). */
export function detailsText(details: Record<string, unknown>): string {
  return Object.entries(details)
    .filter(([, value]) => value !== null && value !== undefined && value !== "")
    .map(([key, value]) => `${key}: ${typeof value === "string" ? value : JSON.stringify(value)}`)
    .join(" · ");
}

const NO_NAMES: ReadonlyMap<string, string> = new Map();

export function AuditTable({
  entries,
  planNames = NO_NAMES,
}: {
  entries: readonly Entry[];
  planNames?: ReadonlyMap<string, string>;
}) {
  return (
    <DataTable stack headers={["Time", "Actor", "Action", "Target / details", "Origin IP"]}>
      {entries.map((entry) => {
        const link = targetLink(entry, planNames);
        return (
          <tr key={entry.id}>
            <td className="nowrap" title={entry.at}>
              {formatDateTime(entry.at)}
            </td>
            <td className="nowrap">{entry.actor ?? <span className="muted">—</span>}</td>
            <td>
              <code>{entry.action}</code>{" "}
              {entry.outcome === "success" ? null : <StatusBadge status="failed" label={entry.outcome} />}
            </td>
            <td>
              {link ? (
                <div className="audit-target">
                  <Link to={link.to} title={entry.target ?? undefined}>
                    {link.label}
                  </Link>
                </div>
              ) : entry.target ? (
                <div className="audit-target">{entry.target}</div>
              ) : null}
              {Object.keys(entry.details).length ? <div className="audit-details">{detailsText(entry.details)}</div> : null}
            </td>
            <td className="nowrap" title={entry.user_agent ?? undefined}>
              {entry.ip ?? <span className="muted">—</span>}
            </td>
          </tr>
        );
      })}
    </DataTable>
  );
}
