import { afterEach, describe, expect, it } from "vitest";
import { cleanup, render, screen, within } from "@testing-library/react";
import { DataTable } from "./DataTable";

function Table({ rows, detail = false }: { rows: string[]; detail?: boolean }) {
  return (
    <DataTable label="Jobs" stack headers={["Job", "Status", ""]}>
      {rows.map((row) => (
        <tr key={row}>
          <td>{row}</td>
          <td>failed</td>
          <td>
            <button type="button">Retry</button>
          </td>
        </tr>
      ))}
      {detail ? (
        <tr>
          <td colSpan={3}>the whole reason</td>
        </tr>
      ) : null}
    </DataTable>
  );
}

afterEach(cleanup);

describe("DataTable stack", () => {
  it("names each cell after its column, also in rows that come later, but not a row spanning the columns", async () => {
    const { rerender } = render(<Table rows={["a1"]} />);
    const table = screen.getByRole("table", { name: "Jobs" });
    expect(within(table).getByText("a1")).toHaveAttribute("data-label", "Job");
    expect(within(table).getAllByText("failed")[0]).toHaveAttribute("data-label", "Status");
    expect(within(table).getByRole("button", { name: "Retry" }).parentElement).not.toHaveAttribute("data-label");

    rerender(<Table rows={["a1", "b2"]} detail />);
    await expect.poll(() => within(table).getByText("b2").getAttribute("data-label")).toBe("Job");
    expect(within(table).getByText("the whole reason")).not.toHaveAttribute("data-label");
    expect(table.parentElement).toHaveClass("stack");
  });

  it("leaves a table that does not stack as it is", () => {
    render(
      <DataTable label="Plain" headers={["Plan"]}>
        <tr>
          <td>nightly</td>
        </tr>
      </DataTable>,
    );
    expect(screen.getByText("nightly")).not.toHaveAttribute("data-label");
    expect(screen.getByRole("table", { name: "Plain" }).parentElement).not.toHaveClass("stack");
  });
});
