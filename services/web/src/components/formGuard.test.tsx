import { act, cleanup, render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useState } from "react";
import { createMemoryRouter, Link, RouterProvider, useNavigate } from "react-router-dom";
import { afterEach, describe, expect, it, vi } from "vitest";
import { UnsavedChangesGuard, useUnsavedChanges } from "./formGuard";

function Editor() {
  const [text, setText] = useState("");
  const saved = useUnsavedChanges(text !== "");
  const navigate = useNavigate();
  return (
    <>
      <label htmlFor="name">Name</label>
      <input id="name" value={text} onChange={(e) => setText(e.target.value)} />
      <button
        type="button"
        onClick={() => {
          saved();
          navigate("/elsewhere");
        }}
      >
        Save
      </button>
      <Link to="/elsewhere">Leave</Link>
    </>
  );
}

function renderEditor() {
  const router = createMemoryRouter(
    [
      { path: "/edit", element: <UnsavedChangesGuard><Editor /></UnsavedChangesGuard> },
      { path: "/elsewhere", element: <UnsavedChangesGuard><p>Elsewhere</p></UnsavedChangesGuard> },
    ],
    { initialEntries: ["/edit"] },
  );
  render(<RouterProvider router={router} />);
  return router;
}

afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
});

describe("unsaved changes", () => {
  it("lets a form without changes go without asking", async () => {
    const confirm = vi.spyOn(window, "confirm");
    const router = renderEditor();
    await userEvent.setup().click(screen.getByRole("link", { name: "Leave" }));
    expect(confirm).not.toHaveBeenCalled();
    expect(router.state.location.pathname).toBe("/elsewhere");
  });

  it("asks before leaving changes, stays on no and goes on yes", async () => {
    const confirm = vi.spyOn(window, "confirm").mockReturnValue(false);
    const router = renderEditor();
    const user = userEvent.setup();
    await user.type(screen.getByLabelText("Name"), "x");
    await user.click(screen.getByRole("link", { name: "Leave" }));
    expect(confirm).toHaveBeenCalledTimes(1);
    expect(router.state.location.pathname).toBe("/edit");
    expect(screen.getByLabelText("Name")).toHaveValue("x");
    const unload = new Event("beforeunload", { cancelable: true });
    act(() => void window.dispatchEvent(unload));
    expect(unload.defaultPrevented).toBe(true);

    confirm.mockReturnValue(true);
    await user.click(screen.getByRole("link", { name: "Leave" }));
    expect(router.state.location.pathname).toBe("/elsewhere");
  });

  it("does not ask once the form says it saved", async () => {
    const confirm = vi.spyOn(window, "confirm");
    const router = renderEditor();
    const user = userEvent.setup();
    await user.type(screen.getByLabelText("Name"), "x");
    await user.click(screen.getByRole("button", { name: "Save" }));
    expect(confirm).not.toHaveBeenCalled();
    expect(router.state.location.pathname).toBe("/elsewhere");
  });
});
