// A labelled table in its scrolling wrapper, with a header row; the caller gives the body rows.
import type { ReactNode } from "react";

export function DataTable({ label, headers, children }: { label?: string; headers: string[]; children: ReactNode }) {
  return (
    <div className="table-wrap">
      <table aria-label={label}>
        <thead>
          <tr>
            {headers.map((header, i) => (
              <th key={i}>{header}</th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}
