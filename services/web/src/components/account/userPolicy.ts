// What the Users page says about accounts and the MFA policy, without the DOM.
import { formatDateTime, formatRelative } from "../../lib/format";

export interface AccountFacts {
  username: string;
  role: string;
  disabled: boolean;
  mfa_enabled: boolean;
  last_login_at?: string | null;
}

/** "never" when the user never logged in; else when, with how long ago. */
export function lastLoginLabel(iso: string | null | undefined, now: number = Date.now()): string {
  if (!iso) return "never";
  return `${formatDateTime(iso)} (${formatRelative(iso, now)})`;
}

/** The enabled users the policy requires a second factor of who have none yet, by name. */
export function usersWithoutRequiredSecondFactor(users: readonly AccountFacts[], requiredRoles: readonly string[]): string[] {
  return users
    .filter((user) => !user.disabled && !user.mfa_enabled && requiredRoles.includes(user.role))
    .map((user) => user.username)
    .sort((a, b) => a.localeCompare(b));
}

/** The policy in words: "everyone", "operators and viewers", "nobody". */
export function policyInWords(requiredRoles: readonly string[], allRoles: readonly string[]): string {
  if (requiredRoles.length === 0) return "nobody";
  if (allRoles.every((role) => requiredRoles.includes(role))) return "everyone";
  const plural = allRoles.filter((role) => requiredRoles.includes(role)).map((role) => `${role}s`);
  return plural.length === 1 ? plural[0] : `${plural.slice(0, -1).join(", ")} and ${plural[plural.length - 1]}`;
}

/** Why the delete button is not offered for an account, or null when it is. */
export function whyNotDeletable(user: AccountFacts, isSelf: boolean, users: readonly AccountFacts[]): string | null {
  if (isSelf) return "You cannot delete your own account; another admin can.";
  const otherAdmins = users.filter((u) => u.username !== user.username && u.role === "admin" && !u.disabled);
  if (user.role === "admin" && !user.disabled && otherAdmins.length === 0) {
    return `${user.username} is the last enabled admin: make another user admin first.`;
  }
  return null;
}
