// The MFA policy (admins): which roles must have a second factor, and who has none yet.
import { useEffect, useState } from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { api } from "../../api/client";
import { errorMessage, unwrap } from "../../api/errors";
import { Card, ErrorBanner, Notice } from "../ui";
import { ROLES, type Role } from "./NewUserForm";
import { policyInWords, usersWithoutRequiredSecondFactor, type AccountFacts } from "./userPolicy";

export const MFA_POLICY_KEY = ["mfa-policy"] as const;
const ALL_ROLES = ROLES.map((r) => r.value);

export function MfaPolicyCard({ users, mayChange }: { users: readonly AccountFacts[]; mayChange: boolean }) {
  const client = useQueryClient();
  const policy = useQuery({ queryKey: MFA_POLICY_KEY, queryFn: async () => unwrap(await api.GET("/users/mfa-policy")) });
  const [chosen, setChosen] = useState<Role[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const stored = policy.data?.required_roles;
  useEffect(() => {
    if (stored) setChosen(stored);
  }, [stored]);

  if (policy.isError) return <ErrorBanner error={policy.error} />;
  if (!stored) return null;
  const required = stored as string[];
  const missing = usersWithoutRequiredSecondFactor(users, required);
  const changed = ALL_ROLES.some((role) => chosen.includes(role) !== required.includes(role));

  function toggle(role: Role) {
    setChosen((now) => (now.includes(role) ? now.filter((r) => r !== role) : [...now, role]));
    setDone(null);
  }

  async function save() {
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      const { data, error: refused, response } = await api.PUT("/users/mfa-policy", { body: { required_roles: chosen } });
      if (!data) {
        setError(errorMessage(refused, `Refused (${response.status}).`));
        return;
      }
      client.setQueryData(MFA_POLICY_KEY, data);
      setDone(`Saved: a second factor is now required of ${policyInWords(data.required_roles, ALL_ROLES)}.`);
    } catch {
      setError("The server could not be reached; try again.");
    } finally {
      setBusy(false);
    }
  }

  return (
    <Card title="Two-factor authentication policy">
      <p>
        MFA required for: <strong>{policyInWords(required, ALL_ROLES)}</strong>. A user it applies to who has no
        second factor is sent to set one up right after the password, and can use nothing else until then.
      </p>
      {missing.length > 0 ? (
        <Notice kind="warning">
          <span data-testid="users-without-mfa">
            No second factor yet (asked to set one up at their next login): {missing.join(", ")}.
          </span>
        </Notice>
      ) : null}
      {mayChange ? (
        <fieldset className="mfa-policy">
          <legend>MFA required for</legend>
          <label>
            <input
              type="checkbox"
              checked={ALL_ROLES.every((role) => chosen.includes(role))}
              onChange={(e) => setChosen(e.target.checked ? [...ALL_ROLES] : [])}
              disabled={busy}
            />{" "}
            everyone
          </label>
          {ROLES.map((role) => (
            <label key={role.value}>
              <input type="checkbox" checked={chosen.includes(role.value)} onChange={() => toggle(role.value)} disabled={busy} />{" "}
              {role.label}s
            </label>
          ))}
          <div className="form-actions">
            <button type="button" className="primary" onClick={() => void save()} disabled={busy || !changed}>
              Save MFA policy
            </button>
          </div>
        </fieldset>
      ) : null}
      {error ? (
        <div className="field-error" role="alert">
          {error}
        </div>
      ) : null}
      {done ? (
        <div className="muted" role="status">
          {done}
        </div>
      ) : null}
    </Card>
  );
}
