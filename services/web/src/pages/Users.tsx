// Accounts (admins): who may log in, with which role; create, change, disable, reset.
import { useState } from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { api } from "../api/client";
import { unwrap } from "../api/errors";
import { useCan, useSession } from "../auth/session";
import { Card, EmptyState, ErrorBanner, Loading, Notice, Page } from "../components/ui";
import { MfaPolicyCard } from "../components/account/MfaPolicyCard";
import { NewUserForm } from "../components/account/NewUserForm";
import { UserRow } from "../components/account/UserRow";
import "../components/account/account.css";
import { DataTable } from "../components/DataTable";

export const USERS_KEY = ["users"] as const;

export function UsersPage() {
  const can = useCan();
  const { session, reload } = useSession();
  const client = useQueryClient();
  const allowed = can("GET", "/users");
  const users = useQuery({
    queryKey: USERS_KEY,
    queryFn: async () => unwrap(await api.GET("/users")),
    enabled: allowed,
  });
  const [creating, setCreating] = useState(false);
  const [deleted, setDeleted] = useState<string | null>(null);
  const mayCreate = can("POST", "/users");

  if (!allowed) {
    return (
      <Page title="Users">
        <Notice>Only admins manage users. Your own password and two-factor settings are on the Account page.</Notice>
      </Page>
    );
  }

  const refresh = () => Promise.all([client.invalidateQueries({ queryKey: USERS_KEY }), reload()]);
  const may = {
    update: can("PATCH", "/users/{user_id}"),
    resetPassword: can("POST", "/users/{user_id}/password"),
    resetMfa: can("POST", "/users/{user_id}/mfa/reset"),
    remove: can("DELETE", "/users/{user_id}"),
  };

  return (
    <Page
      title="Users"
      actions={
        mayCreate && !creating ? (
          <button type="button" className="primary" onClick={() => setCreating(true)}>
            New user
          </button>
        ) : null
      }
    >
      {creating ? (
        <Card title="New user">
          <NewUserForm onCreated={refresh} onCancel={() => setCreating(false)} />
        </Card>
      ) : null}
      {deleted ? (
        <Notice kind="success">
          <span role="status">{deleted}</span>
        </Notice>
      ) : null}
      {users.data && can("GET", "/users/mfa-policy") ? (
        <MfaPolicyCard users={users.data} mayChange={can("PUT", "/users/mfa-policy")} />
      ) : null}
      {users.isPending ? <Loading what="Loading users" /> : null}
      <ErrorBanner error={users.error} />
      {users.data && users.data.length === 0 ? (
        <EmptyState>No accounts yet. Create one with “New user”.</EmptyState>
      ) : null}
      {users.data && users.data.length > 0 ? (
        <DataTable stack headers={["Username", "Role", "MFA", "Status", "Last login", "Must change password", "Actions"]}>
          {users.data.map((user) => (
            <UserRow
              key={user.id}
              user={user}
              isSelf={user.username === session?.username}
              users={users.data}
              may={may}
              onChanged={refresh}
              onDeleted={setDeleted}
            />
          ))}
        </DataTable>
      ) : null}
    </Page>
  );
}
