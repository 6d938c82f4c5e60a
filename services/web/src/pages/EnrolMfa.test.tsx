import { answer, stubFetch, type SeenRequest } from "../lib/testSupport";
import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, screen } from "@testing-library/react";
import { renderWithApp } from "../lib/renderWithApp";
import { AppRoutes } from "../App";

/** A gateway whose session is an operator the MFA policy sends to enrol (or who must first change the password). */
function heldOperator(mustChangePassword: boolean) {
  return stubFetch((request: SeenRequest) => {
    switch (`${request.method} ${request.path.replace(/^\/api/, "")}`) {
      case "GET /auth/permissions":
        return answer(200, {
          role: "operator",
          must_change_password: mustChangePassword,
          must_enrol_mfa: true,
          allowed: mustChangePassword ? ["GET /users/me"] : ["GET /users/me", "GET /users/me/mfa", "POST /users/me/mfa/enrolment", "POST /users/me/mfa/confirm"],
        });
      case "GET /users/me":
        return answer(200, { id: "u", username: "olga", role: "operator", disabled: false, must_change_password: mustChangePassword, mfa_enabled: false, last_login_at: null });
      case "GET /users/me/mfa":
        return answer(200, { enabled: false, pending: false, recovery_codes_left: 0 });
      default:
        return answer(403, { error: "forbidden", detail: "the MFA policy requires a second factor for your role" });
    }
  });
}

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("a user the MFA policy sends to enrol", () => {
  it("is taken from any page to the enrolment, with nothing else offered", async () => {
    heldOperator(false);
    renderWithApp(<AppRoutes />, "/jobs");
    expect(await screen.findByRole("heading", { name: "Set up two-factor authentication" })).toBeTruthy();
    expect(screen.getByText(/requires a second factor for the operator role/)).toBeTruthy();
    expect(await screen.findByRole("button", { name: "Set up two-factor authentication" })).toBeTruthy();
    expect(screen.queryByRole("link", { name: "Jobs" })).toBeNull();
    expect(screen.queryByRole("button", { name: "Continue to DockBack" })).toBeNull();
  });

  it("changes a temporary password first", async () => {
    heldOperator(true);
    renderWithApp(<AppRoutes />, "/jobs");
    expect(await screen.findByRole("heading", { name: "Choose a new password" })).toBeTruthy();
    expect(screen.queryByRole("heading", { name: "Set up two-factor authentication" })).toBeNull();
  });
});
