import { describe, expect, it } from "vitest";
import { lastLoginLabel, policyInWords, usersWithoutRequiredSecondFactor, whyNotDeletable, type AccountFacts } from "./userPolicy";

const ROLES = ["admin", "operator", "viewer"];

function user(username: string, role: string, extra: Partial<AccountFacts> = {}): AccountFacts {
  return { username, role, disabled: false, mfa_enabled: false, last_login_at: null, ...extra };
}

describe("lastLoginLabel", () => {
  it("says never when the user never logged in", () => {
    expect(lastLoginLabel(null)).toBe("never");
    expect(lastLoginLabel(undefined)).toBe("never");
  });

  it("gives the time and how long ago", () => {
    const at = "2026-12-06T10:00:00Z";
    const label = lastLoginLabel(at, Date.parse(at) + 3 * 3600 * 1000);
    expect(label).toContain("2026");
    expect(label).toMatch(/\(3 h ago\)$/);
  });
});

describe("usersWithoutRequiredSecondFactor", () => {
  const users = [
    user("zoe", "operator"),
    user("al", "operator"),
    user("mfa-op", "operator", { mfa_enabled: true }),
    user("gone", "operator", { disabled: true }),
    user("vic", "viewer"),
    user("root", "admin"),
  ];

  it("names the enabled users of the required roles who have no second factor, by name", () => {
    expect(usersWithoutRequiredSecondFactor(users, ["operator"])).toEqual(["al", "zoe"]);
  });

  it("names nobody when the policy requires nothing", () => {
    expect(usersWithoutRequiredSecondFactor(users, [])).toEqual([]);
  });

  it("covers every role when it is required of everyone", () => {
    expect(usersWithoutRequiredSecondFactor(users, ROLES)).toEqual(["al", "root", "vic", "zoe"]);
  });
});

describe("policyInWords", () => {
  it("says nobody, everyone, or the roles in order", () => {
    expect(policyInWords([], ROLES)).toBe("nobody");
    expect(policyInWords(["viewer", "admin", "operator"], ROLES)).toBe("everyone");
    expect(policyInWords(["operator"], ROLES)).toBe("operators");
    expect(policyInWords(["viewer", "admin"], ROLES)).toBe("admins and viewers");
  });
});

describe("whyNotDeletable", () => {
  it("refuses one's own account", () => {
    const me = user("me", "admin");
    expect(whyNotDeletable(me, true, [me, user("other", "admin")])).toMatch(/your own account/);
  });

  it("refuses the last enabled admin and names why", () => {
    const only = user("only", "admin");
    const users = [only, user("off", "admin", { disabled: true }), user("op", "operator")];
    expect(whyNotDeletable(only, false, users)).toBe("only is the last enabled admin: make another user admin first.");
  });

  it("offers deleting anyone else", () => {
    const users = [user("me", "admin"), user("op", "operator"), user("second", "admin")];
    expect(whyNotDeletable(users[1], false, users)).toBeNull();
    expect(whyNotDeletable(users[2], false, users)).toBeNull();
  });
});
