import { answer, stubFetch, type SeenRequest } from "../lib/testSupport";
import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { MemoryRouter, Route, Routes, useLocation } from "react-router-dom";
import { SessionProvider } from "../auth/session";
import { LoginPage, SESSION_UNREADABLE } from "./Login";

function Where() {
  const location = useLocation();
  return <div data-testid="where">{location.pathname}</div>;
}

function renderLogin(entry: string) {
  // The session's "logged out" handler reads the browser's address, as in a real tab.
  window.history.replaceState(null, "", entry);
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  render(
    <QueryClientProvider client={client}>
      <MemoryRouter initialEntries={[entry]}>
        <SessionProvider>
          <Routes>
            <Route path="/login" element={<LoginPage />} />
            <Route path="*" element={<Where />} />
          </Routes>
        </SessionProvider>
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

/** A gateway with one account that has MFA: code 123456 is right, anything else wrong.
 *  `sessionReadable: false`: a login goes through, yet the session is not found afterwards. */
function fakeGateway({ sessionReadable = true } = {}) {
  let loggedIn = false;
  return stubFetch((request: SeenRequest) => {
    if (request.path === "/api/auth/permissions") {
      return loggedIn && sessionReadable
        ? answer(200, { role: "admin", must_change_password: false, allowed: ["GET /jobs"] })
        : answer(401, { error: "not_authenticated", detail: "log in first" });
    }
    if (request.path === "/api/auth/refresh") return answer(401, { error: "not_authenticated", detail: "no refresh token" });
    if (request.path === "/api/users/me") {
      return answer(200, { id: "u", username: "admin", role: "admin", disabled: false, must_change_password: false, mfa_enabled: true });
    }
    if (request.path === "/api/auth/login") {
      const { password } = request.body as { password: string };
      if (password !== "right-password") return answer(401, { error: "not_authenticated", detail: "wrong username or password" });
      return answer(200, { logged_in: false, mfa_required: true, mfa_token: "tok" });
    }
    if (request.path === "/api/auth/login/mfa") {
      const { code, recovery_code } = request.body as { code?: string; recovery_code?: string };
      if (code === "123456" || recovery_code === "abcde-fghij") {
        loggedIn = true;
        return answer(200, { logged_in: true, must_change_password: false });
      }
      return answer(401, { error: "not_authenticated", detail: "wrong or already used code" });
    }
    return undefined;
  });
}

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("LoginPage", () => {
  it("asks for the password, then the code, and goes to the next page", async () => {
    fakeGateway();
    const user = userEvent.setup();
    renderLogin("/login?next=%2Fjobs");

    await user.type(await screen.findByLabelText("Username"), "admin");
    await user.type(screen.getByLabelText("Password"), "wrong");
    await user.click(screen.getByRole("button", { name: "Log in" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("wrong username or password");

    await user.clear(screen.getByLabelText("Password"));
    await user.type(screen.getByLabelText("Password"), "right-password");
    await user.click(screen.getByRole("button", { name: "Log in" }));

    const code = await screen.findByLabelText("Authentication code");
    expect(code).toHaveAttribute("autocomplete", "one-time-code");
    expect(code).toHaveAttribute("inputmode", "numeric");
    await user.type(code, "000000");
    await user.click(screen.getByRole("button", { name: "Verify" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("wrong or already used code");

    await user.click(screen.getByRole("button", { name: "Use a recovery code" }));
    await user.type(screen.getByLabelText("Recovery code"), "abcde-fghij");
    await user.click(screen.getByRole("button", { name: "Verify" }));

    expect(await screen.findByTestId("where")).toHaveTextContent("/jobs");
  });

  it("says so, and stays, when the session of an accepted login cannot be read", async () => {
    fakeGateway({ sessionReadable: false });
    const user = userEvent.setup();
    renderLogin("/login?next=%2Fjobs");
    await user.type(await screen.findByLabelText("Username"), "admin");
    await user.type(screen.getByLabelText("Password"), "right-password");
    await user.click(screen.getByRole("button", { name: "Log in" }));
    await user.type(await screen.findByLabelText("Authentication code"), "123456");
    await user.click(screen.getByRole("button", { name: "Verify" }));

    expect(await screen.findByRole("alert")).toHaveTextContent(SESSION_UNREADABLE);
    expect(screen.getByLabelText("Username")).toBeInTheDocument();
    expect(screen.queryByTestId("where")).not.toBeInTheDocument();
  });

  it("ignores a next that leads to another site", async () => {
    fakeGateway();
    const user = userEvent.setup();
    renderLogin("/login?next=%2F%2Fevil.example");
    await user.type(await screen.findByLabelText("Username"), "admin");
    await user.type(screen.getByLabelText("Password"), "right-password");
    await user.click(screen.getByRole("button", { name: "Log in" }));
    await user.type(await screen.findByLabelText("Authentication code"), "123456");
    await user.click(screen.getByRole("button", { name: "Verify" }));
    expect(await screen.findByTestId("where")).toHaveTextContent(/^\/$/);
  });
});
