// Create an account with a temporary password; the new user must change it at first login.
import { useState, type FormEvent } from "react";
import { api, type Schemas } from "../../api/client";
import { Field, Notice } from "../ui";
import { PASSWORD_RULES } from "./PasswordChangeForm";
import { TemporaryPasswordField } from "./TemporaryPasswordField";
import { newUserErrors, type FormErrors } from "./userErrors";
import { SubmitOrCancel } from "./SubmitOrCancel";

export type Role = Schemas["Role"];
export const ROLES: { value: Role; label: string; hint: string }[] = [
  {
    value: "viewer",
    label: "viewer",
    hint: "sees jobs, plans, backups and resources; changes nothing; never sees hook commands or secrets",
  },
  {
    value: "operator",
    label: "operator",
    hint: "also runs, cancels and verifies backups, restores, and creates and edits plans; no hooks, bind mounts, settings or users",
  },
  { value: "admin", label: "admin", hint: "everything: also hooks, bind mounts, settings, users and the audit log" },
];

const NO_ERRORS: FormErrors = { fields: {}, general: null };

export function NewUserForm({ onCreated, onCancel }: { onCreated: () => Promise<unknown> | void; onCancel: () => void }) {
  const [username, setUsername] = useState("");
  const [role, setRole] = useState<Role>("viewer");
  const [password, setPassword] = useState("");
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState<{ username: string; role: string; password: string } | null>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setErrors(NO_ERRORS);
    try {
      const { data, error, response } = await api.POST("/users", { body: { username: username.trim(), role, password } });
      if (!data) {
        setErrors(newUserErrors(response.status, error));
        return;
      }
      setCreated({ username: data.username, role: data.role, password });
      setUsername("");
      setPassword("");
      setRole("viewer");
      await onCreated();
    } catch {
      setErrors({ fields: {}, general: "The server could not be reached; try again." });
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="form" onSubmit={submit} aria-label="New user">
      {created ? (
        <Notice kind="success">
          Created <strong>{created.username}</strong> ({created.role}). Give them this initial password:{" "}
          <code className="once" data-testid="initial-password">
            {created.password}
          </code>{" "}
          — they must change it when they first log in.
        </Notice>
      ) : null}
      {errors.general ? (
        <div className="banner error" role="alert">
          {errors.general}
        </div>
      ) : null}
      <Field label="Username" htmlFor="new-user-username" error={errors.fields.username} hint="Letters, digits, '.', '_' and '-'.">
        <input
          id="new-user-username"
          autoComplete="off"
          autoCapitalize="none"
          spellCheck={false}
          required
          value={username}
          onChange={(e) => setUsername(e.target.value)}
        />
      </Field>
      <Field label="Role" htmlFor="new-user-role" error={errors.fields.role} hint={ROLES.find((r) => r.value === role)?.hint}>
        <select id="new-user-role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
          {ROLES.map((r) => (
            <option key={r.value} value={r.value}>
              {r.label}
            </option>
          ))}
        </select>
      </Field>
      <TemporaryPasswordField
        id="new-user-password"
        label="Initial password"
        hint={`${PASSWORD_RULES} The user must change it at first login.`}
        error={errors.fields.password}
        value={password}
        onChange={setPassword}
      />
      <SubmitOrCancel label="Create user" busyLabel="Creating…" busy={busy} cancelLabel="Close" onCancel={onCancel} />
    </form>
  );
}
