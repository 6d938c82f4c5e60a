import { answer, inOrder, stubFetch } from "../../lib/testSupport";
import { afterEach, describe, expect, it, vi } from "vitest";
import { PASSWORD_STEP, submitPassword, submitSecondFactor, toggleRecovery } from "./loginFlow";

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("login steps", () => {
  it("logs in with a password alone", async () => {
    const seen = stubFetch(inOrder(answer(200, { logged_in: true, must_change_password: false, csrf_token: "c" })));
    expect(await submitPassword("admin", "secret")).toEqual({ kind: "done", mustChangePassword: false });
    expect(seen[0]).toMatchObject({ path: "/api/auth/login", body: { username: "admin", password: "secret" } });
  });

  it("reports a forced password change", async () => {
    stubFetch(inOrder(answer(200, { logged_in: true, must_change_password: true })));
    expect(await submitPassword("new", "temporary")).toEqual({ kind: "done", mustChangePassword: true });
  });

  it("stays on the password step with the API's message", async () => {
    stubFetch(inOrder(answer(401, { error: "not_authenticated", detail: "wrong username or password" })));
    expect(await submitPassword("admin", "nope")).toEqual({ kind: "step", step: PASSWORD_STEP, error: "wrong username or password" });
  });

  it("says when there were too many attempts", async () => {
    stubFetch(inOrder(answer(429, { error: "too_many_attempts", detail: "too many failed logins; try again in 4 s" })));
    const outcome = await submitPassword("admin", "nope");
    expect(outcome).toMatchObject({ kind: "step", error: "too many failed logins; try again in 4 s" });
  });

  it("goes password → code → recovery code → logged in", async () => {
    const seen = stubFetch(inOrder(
      answer(200, { logged_in: false, mfa_required: true, mfa_token: "tok" }),
      answer(401, { error: "not_authenticated", detail: "wrong or already used code" }),
      answer(200, { logged_in: true, must_change_password: false }),
    ));
    const first = await submitPassword("admin", "secret");
    expect(first).toEqual({ kind: "step", step: { kind: "code", mfaToken: "tok" }, error: null });
    if (first.kind !== "step") throw new Error("expected a step");

    const wrong = await submitSecondFactor(first.step, "123 456");
    expect(wrong).toEqual({ kind: "step", step: first.step, error: "wrong or already used code" });
    expect(seen[1].body).toEqual({ mfa_token: "tok", code: "123456" });

    const recovery = toggleRecovery(first.step);
    expect(recovery).toEqual({ kind: "recovery", mfaToken: "tok" });
    expect(toggleRecovery(recovery)).toEqual(first.step);

    expect(await submitSecondFactor(recovery, " abcde-fghij ")).toEqual({ kind: "done", mustChangePassword: false });
    expect(seen[2]).toMatchObject({ path: "/api/auth/login/mfa", body: { mfa_token: "tok", recovery_code: "abcde-fghij" } });
  });

  it("goes back to the password when the pending login has ended", async () => {
    stubFetch(inOrder(answer(401, { error: "not_authenticated", detail: "too many wrong codes; enter your password again" })));
    const outcome = await submitSecondFactor({ kind: "code", mfaToken: "tok" }, "000000");
    expect(outcome).toEqual({ kind: "step", step: PASSWORD_STEP, error: "too many wrong codes; enter your password again" });
  });
});
