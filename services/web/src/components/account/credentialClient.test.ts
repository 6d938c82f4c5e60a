import { answer, stubFetch } from "./testSupport";
import { afterEach, describe, expect, it, vi } from "vitest";
import { credentialApi } from "./credentialClient";

afterEach(() => {
  vi.unstubAllGlobals();
});

const WRONG = { error: "not_authenticated", detail: "the current password is wrong" };

describe("credentialApi", () => {
  it("sends a wrong password once when the session is alive", async () => {
    const seen = stubFetch((request) => {
      if (request.path === "/api/users/me/password") return answer(401, WRONG);
      if (request.path === "/api/auth/permissions") return answer(200, { role: "admin", must_change_password: false, allowed: [] });
      return undefined;
    });
    const { error, response } = await credentialApi.POST("/users/me/password", {
      body: { current_password: "nope", new_password: "a-new-password-1" },
    });
    expect(response.status).toBe(401);
    expect(error).toEqual(WRONG);
    expect(seen.filter((r) => r.path === "/api/users/me/password")).toHaveLength(1);
    expect(seen.some((r) => r.path === "/api/auth/refresh")).toBe(false);
  });

  it("renews an expired session and sends the request again", async () => {
    let renewed = false;
    const seen = stubFetch((request) => {
      if (request.path === "/api/users/me/mfa/disable") return renewed ? answer(204) : answer(401, { error: "not_authenticated", detail: "expired" });
      if (request.path === "/api/auth/permissions") return answer(401, { error: "not_authenticated", detail: "expired" });
      if (request.path === "/api/auth/refresh") {
        renewed = true;
        return answer(200, { logged_in: true });
      }
      return undefined;
    });
    const { response } = await credentialApi.POST("/users/me/mfa/disable", { body: { current_password: "right" } });
    expect(response.status).toBe(204);
    const sent = seen.filter((r) => r.path === "/api/users/me/mfa/disable");
    expect(sent).toHaveLength(2);
    expect(sent[1].body).toEqual({ current_password: "right" });
  });
});
