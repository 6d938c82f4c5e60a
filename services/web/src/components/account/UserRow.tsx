// One account in the users table, with the admin's actions on it.
import { useState, type FormEvent } from "react";
import { api, type Schemas } from "../../api/client";
import { errorMessage, fieldErrors } from "../../api/errors";
import { StatusBadge } from "../ui";
import { ROLES, type Role } from "./NewUserForm";
import { PASSWORD_RULES } from "./PasswordChangeForm";
import { TemporaryPasswordField } from "./TemporaryPasswordField";
import { ConfirmInline } from "../ConfirmInline";
import { SubmitOrCancel } from "./SubmitOrCancel";
import { lastLoginLabel, whyNotDeletable } from "./userPolicy";

type User = Schemas["UserOut"];
type Panel = "none" | "password" | "mfa";

export interface UserPermissions {
  update: boolean;
  resetPassword: boolean;
  resetMfa: boolean;
  remove: boolean;
}

export function UserRow({
  user,
  isSelf,
  users,
  may,
  onChanged,
  onDeleted,
}: {
  user: User;
  isSelf: boolean;
  /** Every account listed (whether this one is the last admin). */
  users: readonly User[];
  may: UserPermissions;
  /** After a change: read the list (and, for one's own account, the session) again. */
  onChanged: () => Promise<unknown>;
  /** After a deletion (the row goes with the list read again, so the page says it). */
  onDeleted: (message: string) => void;
}) {
  const [role, setRole] = useState<Role>(user.role as Role);
  // When the list is read again with another role, the picker follows it.
  const [listedRole, setListedRole] = useState(user.role);
  if (listedRole !== user.role) {
    setListedRole(user.role);
    setRole(user.role as Role);
  }
  const [panel, setPanel] = useState<Panel>("none");
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const path = { user_id: user.id };

  async function act(work: () => Promise<{ response: Response; error?: unknown }>, success: string): Promise<boolean> {
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      const { response, error: refused } = await work();
      if (!response.ok) {
        setError(errorMessage(refused, `Refused (${response.status}).`));
        return false;
      }
      setDone(success);
      await onChanged();
      return true;
    } catch {
      setError("The server could not be reached; try again.");
      return false;
    } finally {
      setBusy(false);
    }
  }

  const saveRole = async () => {
    const saved = await act(() => api.PATCH("/users/{user_id}", { params: { path }, body: { role } }), `${user.username} is now ${role}.`);
    if (!saved) setRole(user.role as Role); // the picker shows the role the user still has
  };
  const setDisabled = (disabled: boolean) =>
    act(
      () => api.PATCH("/users/{user_id}", { params: { path }, body: { disabled } }),
      disabled ? `${user.username} is disabled and was logged out.` : `${user.username} can log in again.`,
    );
  const resetMfa = async () => {
    if (
      await act(
        () => api.POST("/users/{user_id}/mfa/reset", { params: { path } }),
        `Two-factor authentication of ${user.username} is off; they can set it up again from their account page.`,
      )
    ) {
      setPanel("none");
    }
  };

  const remove = async () => {
    const message = `${user.username} was deleted and logged out everywhere; the audit log keeps the name.`;
    if (await act(() => api.DELETE("/users/{user_id}", { params: { path } }), message)) onDeleted(message);
  };
  const notDeletable = whyNotDeletable(user, isSelf, users);

  function toggle(next: Panel) {
    setPanel(panel === next ? "none" : next);
    setError(null);
    setDone(null);
  }

  return (
    <>
      <tr>
        <td>
          <strong>{user.username}</strong>
          {isSelf ? <span className="muted"> (you)</span> : null}
        </td>
        <td>{user.role}</td>
        <td>{user.mfa_enabled ? <StatusBadge status="succeeded" label="on" /> : <StatusBadge status="idle" label="off" />}</td>
        <td>{user.disabled ? <StatusBadge status="failed" label="disabled" /> : <StatusBadge status="online" label="enabled" />}</td>
        <td>{user.last_login_at ? lastLoginLabel(user.last_login_at) : <span className="muted">never</span>}</td>
        <td>{user.must_change_password ? "yes" : <span className="muted">no</span>}</td>
        <td>
          <div className="user-actions">
            {may.update ? (
              <>
                <select
                  aria-label={`Role of ${user.username}`}
                  value={role}
                  onChange={(e) => setRole(e.target.value as Role)}
                  disabled={busy}
                >
                  {ROLES.map((r) => (
                    <option key={r.value} value={r.value}>
                      {r.label}
                    </option>
                  ))}
                </select>
                <button type="button" className="small" onClick={() => void saveRole()} disabled={busy || role === user.role}>
                  Save role
                </button>
                {user.disabled ? (
                  <button type="button" className="small" onClick={() => void setDisabled(false)} disabled={busy}>
                    Enable
                  </button>
                ) : isSelf ? null : (
                  <ConfirmInline
                    label="Disable"
                    question={`Disable ${user.username}? They are logged out and cannot log in until enabled again.`}
                    groupLabel={`Disable ${user.username}?`}
                    confirmLabel="Yes, disable"
                    keepLabel="Keep enabled"
                    busy={busy}
                    onConfirm={() => void setDisabled(true)}
                  />
                )}
              </>
            ) : null}
            {may.resetPassword && !isSelf ? (
              <button type="button" className="small" onClick={() => toggle("password")} aria-expanded={panel === "password"}>
                Reset password
              </button>
            ) : null}
            {may.resetMfa && !isSelf && user.mfa_enabled ? (
              <button type="button" className="small" onClick={() => toggle("mfa")} aria-expanded={panel === "mfa"}>
                Reset MFA
              </button>
            ) : null}
            {may.remove && notDeletable === null ? (
              <ConfirmInline
                label="Delete"
                question={`Delete ${user.username}? Their sessions end at once and they can no longer log in; the audit log keeps their name.`}
                groupLabel={`Delete ${user.username}?`}
                confirmLabel="Yes, delete"
                keepLabel="Keep"
                busy={busy}
                onConfirm={() => void remove()}
              />
            ) : null}
          </div>
          {error && panel === "none" ? (
            <div className="field-error" role="alert">
              {error}
            </div>
          ) : null}
          {done && panel === "none" ? (
            <div className="muted" role="status">
              {done}
            </div>
          ) : null}
        </td>
      </tr>
      {panel !== "none" ? (
        <tr className="user-panel">
          <td colSpan={7}>
            {panel === "password" ? (
              <ResetPasswordForm
                user={user}
                onDone={async (ok) => {
                  if (ok) {
                    setPanel("none");
                    setDone(`${user.username} must change the temporary password at next login; their sessions ended.`);
                    await onChanged();
                  }
                }}
                onCancel={() => setPanel("none")}
              />
            ) : (
              <div>
                <p>
                  Turn off two-factor authentication for <strong>{user.username}</strong> (for a lost authenticator)?
                  Their recovery codes are deleted and their sessions end; they log in with the password alone until
                  they set it up again.
                </p>
                {error ? (
                  <div className="banner error" role="alert">
                    {error}
                  </div>
                ) : null}
                <div className="form-actions">
                  <button type="button" className="danger" onClick={() => void resetMfa()} disabled={busy}>
                    Yes, reset MFA
                  </button>
                  <button type="button" onClick={() => setPanel("none")}>
                    Cancel
                  </button>
                </div>
              </div>
            )}
          </td>
        </tr>
      ) : null}
    </>
  );
}

function ResetPasswordForm({
  user,
  onDone,
  onCancel,
}: {
  user: User;
  onDone: (ok: boolean) => Promise<void>;
  onCancel: () => void;
}) {
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const { response, error: refused } = await api.POST("/users/{user_id}/password", {
        params: { path: { user_id: user.id } },
        body: { password },
      });
      if (!response.ok) {
        const { fields, general } = fieldErrors(refused, ["password"]);
        setError(fields.password ?? general ?? errorMessage(refused));
        await onDone(false);
        return;
      }
      await onDone(true);
    } catch {
      setError("The server could not be reached; try again.");
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="form" onSubmit={submit} aria-label={`Reset password of ${user.username}`}>
      <p>
        Give <strong>{user.username}</strong> a temporary password. Their sessions end, and they must choose a new
        password when they next log in.
      </p>
      <TemporaryPasswordField
        id={`reset-password-${user.id}`}
        label="Temporary password"
        hint={PASSWORD_RULES}
        error={error}
        value={password}
        onChange={setPassword}
        autoFocus
      />
      <SubmitOrCancel label="Set temporary password" busyLabel="Saving…" busy={busy} onCancel={onCancel} />
    </form>
  );
}
