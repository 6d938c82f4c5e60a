// The plans' restic repositories, and (admins) their recovery sheets: the password and the restic
// commands that read a repository without DockBack.
import { useMutation, useQuery } from "@tanstack/react-query";
import { api, type Schemas } from "../../api/client";
import { unwrap } from "../../api/errors";
import { useCan } from "../../auth/session";
import { formatBytes, formatDateTime } from "../../lib/format";
import { Card, ErrorBanner, Loading } from "../ui";

type Repository = Schemas["RepositoryOut"];
type Sheet = Schemas["RecoverySheet"];

export function RepositoriesSection() {
  const repositories = useQuery({
    queryKey: ["repositories"],
    queryFn: async () => unwrap(await api.GET("/repositories")),
  });
  return (
    <Card title="Repositories">
      <p className="muted">
        Plans of the format repository keep encrypted snapshots in a restic repository of their own on their host. Its
        password is made and kept by DockBack: <strong>without the recovery sheet, the snapshots cannot be read if
        DockBack's database is lost.</strong> Export each sheet and keep it apart from the host.
      </p>
      {repositories.isPending ? <Loading what="Reading the repositories" /> : null}
      <ErrorBanner error={repositories.error} />
      {repositories.data && repositories.data.length === 0 ? <p className="muted">No plan keeps a repository yet.</p> : null}
      {repositories.data && repositories.data.length > 0 ? (
        <table className="table" aria-label="Repositories">
          <thead>
            <tr>
              <th>Repository</th>
              <th>Plan</th>
              <th>Snapshots</th>
              <th>Added data</th>
              <th>Created</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {repositories.data.map((repository) => (
              <RepositoryRow key={`${repository.host_id}/${repository.name}`} repository={repository} />
            ))}
          </tbody>
        </table>
      ) : null}
    </Card>
  );
}

function RepositoryRow({ repository }: { repository: Repository }) {
  const can = useCan();
  const exportSheet = useMutation({
    mutationFn: async (): Promise<Sheet> =>
      unwrap(
        await api.POST("/repositories/{host_id}/{name}/recovery-sheet", {
          params: { path: { host_id: repository.host_id, name: repository.name } },
        }),
      ),
  });
  const sheet = exportSheet.data;
  return (
    <>
      <tr>
        <td>
          <code>{repository.name}</code>
          <div className="muted small">on {repository.host_id}</div>
        </td>
        <td>{repository.plan_name ?? <span className="muted">plan deleted</span>}</td>
        <td>{repository.snapshots}</td>
        <td>{formatBytes(repository.added_bytes)}</td>
        <td>{formatDateTime(repository.created_at)}</td>
        <td className="actions">
          {can("POST", "/repositories/{host_id}/{name}/recovery-sheet") ? (
            <button type="button" className="small" disabled={exportSheet.isPending} onClick={() => exportSheet.mutate()}>
              Export recovery sheet
            </button>
          ) : null}
          <ErrorBanner error={exportSheet.error} />
        </td>
      </tr>
      {sheet ? (
        <tr>
          <td colSpan={6}>
            <p>
              Recovery sheet of <code>{sheet.name}</code> (this export is in the audit log).{" "}
              <a
                href={`data:text/plain;charset=utf-8,${encodeURIComponent(sheet.text)}`}
                download={`dockback-recovery-${sheet.host_id}-${sheet.name}.txt`}
              >
                Download it
              </a>
            </p>
            <pre className="recovery-sheet" aria-label={`Recovery sheet of ${sheet.name}`}>
              {sheet.text}
            </pre>
          </td>
        </tr>
      ) : null}
    </>
  );
}
