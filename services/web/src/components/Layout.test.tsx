import { json, stubApi } from "../lib/testSupport";
import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Route, Routes } from "react-router-dom";
import { renderWithApp } from "../lib/renderWithApp";
import { Layout } from "./Layout";

function renderLayout() {
  stubApi((key) => {
    if (key === "GET /auth/permissions") {
      return json(200, { role: "operator", must_change_password: false, allowed: ["GET /jobs", "GET /plans"] });
    }
    if (key === "GET /users/me") return json(200, { username: "oper", mfa_enabled: false });
    return undefined;
  });
  renderWithApp(
    <Routes>
      <Route element={<Layout />}>
        <Route index element={<h1>Dashboard</h1>} />
        <Route path="jobs" element={<h1>Jobs</h1>} />
      </Route>
    </Routes>,
  );
}

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("Layout's navigation (folded behind Menu on a phone)", () => {
  it("says whether it is open and which element it opens", async () => {
    renderLayout();
    const menu = await screen.findByRole("button", { name: "Menu" });
    expect(menu).toHaveAttribute("aria-expanded", "false");
    const items = document.getElementById(menu.getAttribute("aria-controls")!);
    expect(items).not.toBeNull();
    expect(await within(items!).findByRole("link", { name: "Jobs" })).toBeInTheDocument();
    await userEvent.click(menu);
    expect(menu).toHaveAttribute("aria-expanded", "true");
    await userEvent.click(menu);
    expect(menu).toHaveAttribute("aria-expanded", "false");
  });

  it("folds again when a page is picked", async () => {
    renderLayout();
    const menu = await screen.findByRole("button", { name: "Menu" });
    await userEvent.click(menu);
    await userEvent.click(await screen.findByRole("link", { name: "Jobs" }));
    expect(await screen.findByRole("heading", { name: "Jobs" })).toBeInTheDocument();
    expect(menu).toHaveAttribute("aria-expanded", "false");
  });

  it("folds on Escape and gives the focus back to the Menu button", async () => {
    renderLayout();
    const menu = await screen.findByRole("button", { name: "Menu" });
    await userEvent.click(menu);
    await userEvent.tab();
    expect(menu).not.toHaveFocus();
    await userEvent.keyboard("{Escape}");
    expect(menu).toHaveAttribute("aria-expanded", "false");
    expect(menu).toHaveFocus();
  });
});
