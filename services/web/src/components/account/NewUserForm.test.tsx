import { cleanup, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it } from "vitest";
import { renderWithApp } from "../../lib/renderWithApp";
import { NewUserForm } from "./NewUserForm";

afterEach(cleanup);

describe("NewUserForm", () => {
  it("says what each role may do, a viewer's without 'sees everything'", async () => {
    const user = userEvent.setup();
    renderWithApp(<NewUserForm onCreated={() => undefined} onCancel={() => undefined} />);
    // the default role, viewer: reads, changes nothing, and does not see everything (no secrets, no hook commands)
    const viewer = screen.getByText(/^sees jobs, plans, backups and resources; changes nothing/);
    expect(viewer).toHaveTextContent("never sees hook commands or secrets");
    expect(screen.queryByText(/sees everything/)).toBeNull();
    await user.selectOptions(screen.getByLabelText("Role"), "operator");
    expect(screen.getByText(/^also runs, cancels and verifies backups, restores/)).toBeInTheDocument();
    expect(screen.queryByText(/^sees jobs, plans/)).toBeNull();
  });
});
