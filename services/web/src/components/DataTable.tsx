// A labelled table in its scrolling wrapper, with a header row; the caller gives the body rows.
// With `stack`, on a phone (styles.css) each row becomes a block of "column: value" lines
// instead of a table wider than the screen: every cell is given its column's name to show.
import { useEffect, useRef, type ReactNode } from "react";

/** Names each body cell after its column (data-label), in rows that have one cell per column. */
export function labelCells(table: HTMLTableElement, headers: readonly string[]): void {
  for (const body of Array.from(table.tBodies)) {
    for (const row of Array.from(body.rows)) {
      if (row.cells.length !== headers.length) continue; // a detail row spanning the columns
      Array.from(row.cells).forEach((cell, i) => {
        if (headers[i]) cell.dataset.label = headers[i];
        else delete cell.dataset.label;
      });
    }
  }
}

export function DataTable({
  label,
  headers,
  stack = false,
  children,
}: {
  label?: string;
  headers: string[];
  /** On a phone, show the rows as stacked blocks rather than a table scrolling sideways. */
  stack?: boolean;
  children: ReactNode;
}) {
  const table = useRef<HTMLTableElement>(null);
  const columns = headers.join("\u0000");
  useEffect(() => {
    const element = table.current;
    if (!stack || !element) return;
    const names = columns.split("\u0000");
    labelCells(element, names);
    // Rows come and go (live job news, "Load more", a row opening its detail): label them too.
    const watcher = new MutationObserver(() => labelCells(element, names));
    watcher.observe(element, { childList: true, subtree: true });
    return () => watcher.disconnect();
  }, [stack, columns]);
  return (
    <div className={`table-wrap ${stack ? "stack" : ""}`}>
      <table aria-label={label} ref={table}>
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
