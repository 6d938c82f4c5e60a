import { answer, stubFetch, type SeenRequest } from "../../lib/testSupport";
import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, screen, within } from "@testing-library/react";
import { renderWithApp } from "../../lib/renderWithApp";
import userEvent from "@testing-library/user-event";
import { MfaSection } from "./MfaSection";

const CODES = Array.from({ length: 10 }, (_, i) => `code${i}-abcde`);
const MFA_ROUTES = ["POST /users/me/mfa/enrolment", "POST /users/me/mfa/confirm", "POST /users/me/mfa/disable", "POST /users/me/mfa/recovery-codes"];

/** A gateway where the password is "right-password" and the authenticator's code is 123456. */
function fakeGateway() {
  let enabled = false;
  let pending = false;
  return stubFetch((request: SeenRequest) => {
    const route = `${request.method} ${request.path.replace(/^\/api/, "")}`;
    const password = (request.body as { current_password?: string } | null)?.current_password;
    switch (route) {
      case "GET /auth/permissions":
        return answer(200, { role: "viewer", must_change_password: false, allowed: ["GET /users/me/mfa", ...MFA_ROUTES] });
      case "GET /users/me":
        return answer(200, { id: "u", username: "vic", role: "viewer", disabled: false, must_change_password: false, mfa_enabled: enabled });
      case "GET /users/me/mfa":
        return answer(200, { enabled, pending, recovery_codes_left: enabled ? CODES.length : 0 });
      case "POST /users/me/mfa/enrolment":
        if (password !== "right-password") return answer(401, { error: "not_authenticated", detail: "the current password is wrong" });
        pending = true;
        return answer(200, { secret: "SECRETBASE32", otpauth_uri: "otpauth://totp/x", qr_svg: '<svg width="4" height="4"></svg>' });
      case "POST /users/me/mfa/confirm":
        if ((request.body as { code: string }).code !== "123456") {
          return answer(401, { error: "not_authenticated", detail: "wrong or already used code: MFA stays off" });
        }
        enabled = true;
        pending = false;
        return answer(200, { recovery_codes: CODES });
      default:
        return undefined;
    }
  });
}

function renderSection() {
  renderWithApp(<MfaSection />);
}

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("MfaSection", () => {
  it("enrols: password, QR code and secret, code, recovery codes shown once", async () => {
    const seen = fakeGateway();
    const user = userEvent.setup();
    renderSection();

    await user.click(await screen.findByRole("button", { name: "Set up two-factor authentication" }));
    await user.type(screen.getByLabelText("Current password"), "wrong-password");
    await user.click(screen.getByRole("button", { name: "Continue" }));
    expect(await screen.findByText("the current password is wrong")).toBeInTheDocument();
    expect(seen.filter((r) => r.path.endsWith("/enrolment"))).toHaveLength(1); // not replayed

    await user.clear(screen.getByLabelText("Current password"));
    await user.type(screen.getByLabelText("Current password"), "right-password");
    await user.click(screen.getByRole("button", { name: "Continue" }));

    expect(await screen.findByTestId("mfa-secret")).toHaveTextContent("SECRETBASE32");
    const qr = screen.getByRole("img");
    expect(qr.getAttribute("src")).toMatch(/^data:image\/svg\+xml;utf8,%3Csvg%20xmlns/);

    await user.type(screen.getByLabelText("Authentication code"), "000000");
    await user.click(screen.getByRole("button", { name: "Turn on" }));
    expect(await screen.findByText(/wrong or already used code/)).toBeInTheDocument();

    await user.clear(screen.getByLabelText("Authentication code"));
    await user.type(screen.getByLabelText("Authentication code"), "123456");
    await user.click(screen.getByRole("button", { name: "Turn on" }));

    const list = await screen.findByTestId("recovery-codes");
    expect(within(list).getAllByRole("listitem").map((li) => li.textContent)).toEqual(CODES);
    expect(screen.getByRole("button", { name: "Copy" })).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Download" })).toBeInTheDocument();

    await user.click(screen.getByRole("button", { name: "I have saved these codes" }));
    expect(screen.queryByTestId("recovery-codes")).not.toBeInTheDocument();
    expect(await screen.findByRole("button", { name: "New recovery codes" })).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Turn off two-factor authentication" })).toBeInTheDocument();
  });
});
