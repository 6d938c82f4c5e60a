// The four tables of the resources page. Each row names its resource as text, shows who
// protects it and its newest backup, and offers "Back up now" to those who may run jobs.
import { Link } from "react-router-dom";
import type { Schemas } from "../../api/client";
import { DataTable } from "../DataTable";
import { StatusBadge } from "../ui";
import { formatBytes, formatDateTime, formatRelative } from "../../lib/format";
import { BackUpNow } from "./BackUpNow";
import { LastBackupCell, ProtectionCell } from "./Protection";

function newPlanFor(hostId: string, kind: "volume" | "container", name: string): string {
  return `/plans/new?${new URLSearchParams({ host: hostId, [kind]: name })}`;
}

/** Protection, last backup and "Back up now": the last three cells of a container or volume row. */
function BackupCells({
  kind,
  resource,
}: {
  kind: "volume" | "container";
  resource: Schemas["ContainerOut"] | Schemas["VolumeOut"];
}) {
  const { host_id: hostId, name } = resource;
  return (
    <>
      <td>
        <ProtectionCell protectedBy={resource.protected_by} newPlanLink={newPlanFor(hostId, kind, name)} />
      </td>
      <td>
        <LastBackupCell backupAt={resource.last_backup_at} verifiedAt={resource.last_verified_at} />
      </td>
      <td>
        <BackUpNow resource={{ hostId, kind, name }} />
      </td>
    </>
  );
}

export function HostsTable({ hosts }: { hosts: Schemas["HostOut"][] }) {
  return (
    <DataTable label="Hosts" stack headers={["Host", "Status", "Last heartbeat", "Docker Engine", "Executor", "Data dir free", "Containers", "Volumes", "Images", "Jobs running"]}>
      {hosts.map((host) => (
        <tr key={host.host_id}>
          <td className="resource-name">{host.host_id}</td>
          <td>
            <StatusBadge status={host.online ? "online" : "offline"} />
          </td>
          <td title={formatDateTime(host.heartbeat_at)}>{formatRelative(host.heartbeat_at)}</td>
          <td>{host.engine ? `${host.engine.version} (${host.engine.os})` : "—"}</td>
          <td>
            {host.executor_version ?? "—"}
            {host.executors > 1 ? ` (${host.executors} processes)` : ""}
          </td>
          <td>
            <DataDirSpace host={host} />
          </td>
          <td>
            <Link to={`/resources?tab=containers&host=${encodeURIComponent(host.host_id)}`}>
              {host.running_containers} running of {host.containers}
            </Link>
          </td>
          <td>
            <Link to={`/resources?host=${encodeURIComponent(host.host_id)}`}>{host.volumes}</Link>
          </td>
          <td>
            <Link to={`/resources?tab=images&host=${encodeURIComponent(host.host_id)}`}>{host.images}</Link>
          </td>
          <td>{host.running_job_ids.length}</td>
        </tr>
      ))}
    </DataTable>
  );
}

/** Free space where the host's archives are written, with a warning when it is nearly full. */
export function DataDirSpace({ host }: { host: Schemas["HostOut"] }) {
  if (host.data_dir_free_bytes === null || host.data_dir_free_bytes === undefined) return <>—</>;
  const total = host.data_dir_total_bytes ? ` of ${formatBytes(host.data_dir_total_bytes)}` : "";
  return (
    <>
      {formatBytes(host.data_dir_free_bytes)}
      {total}
      {host.data_dir_space_low ? (
        <>
          {" "}
          <StatusBadge status="unprotected" label="Free space low" />
        </>
      ) : null}
    </>
  );
}

export function ContainersTable({ containers }: { containers: Schemas["ContainerOut"][] }) {
  return (
    <DataTable label="Containers" stack headers={["Container", "Host", "Image", "State", "Compose project", "Protection", "Last backup", "Actions"]}>
      {containers.map((c) => (
        <tr key={`${c.host_id}/${c.id}`}>
          <td className="resource-name">{c.name}</td>
          <td>{c.host_id}</td>
          <td>{c.image}</td>
          <td>
            <StatusBadge status={c.state === "running" ? "online" : "idle"} label={c.state} />
          </td>
          <td>{c.compose_project ?? "—"}</td>
          <BackupCells kind="container" resource={c} />
        </tr>
      ))}
    </DataTable>
  );
}

export function VolumesTable({ volumes }: { volumes: Schemas["VolumeOut"][] }) {
  return (
    <DataTable label="Volumes" stack headers={["Volume", "Host", "Size", "Used by", "Protection", "Last backup", "Actions"]}>
      {volumes.map((v) => (
        <tr key={`${v.host_id}/${v.name}`}>
          <td className="resource-name">{v.name}</td>
          <td>{v.host_id}</td>
          <td>{formatBytes(v.size_bytes)}</td>
          <td>{v.used_by.length ? v.used_by.map((u) => u.container_name).join(", ") : "—"}</td>
          <BackupCells kind="volume" resource={v} />
        </tr>
      ))}
    </DataTable>
  );
}

export function ImagesTable({ images }: { images: Schemas["ImageOut"][] }) {
  return (
    <DataTable label="Images" stack headers={["Image", "Host", "Size", "Protection", "Actions"]}>
      {images.map((image) => {
        const name = image.tags[0] ?? image.id;
        return (
          <tr key={`${image.host_id}/${image.id}`}>
            <td className="resource-name">
              {image.tags.length ? image.tags.join(", ") : <code>{image.id.slice(0, 19)}</code>}
            </td>
            <td>{image.host_id}</td>
            <td>{formatBytes(image.size_bytes)}</td>
            <td>
              <ProtectionCell protectedBy={image.protected_by} />
            </td>
            <td>
              <BackUpNow resource={{ hostId: image.host_id, kind: "image", name }} />
            </td>
          </tr>
        );
      })}
    </DataTable>
  );
}
