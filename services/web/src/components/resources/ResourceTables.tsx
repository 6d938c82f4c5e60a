// The four tables of the resources page. Each row names its resource as text, shows who
// protects it and its newest backup, and offers "Back up now" to those who may run jobs.
import { Link } from "react-router-dom";
import type { Schemas } from "../../api/client";
import { StatusBadge } from "../ui";
import { formatBytes, formatDateTime, formatRelative } from "../../lib/format";
import { BackUpNow } from "./BackUpNow";
import { LastBackupCell, ProtectionCell } from "./Protection";

function newPlanFor(hostId: string, kind: "volume" | "container", name: string): string {
  return `/plans/new?${new URLSearchParams({ host: hostId, [kind]: name })}`;
}

export function HostsTable({ hosts }: { hosts: Schemas["HostOut"][] }) {
  return (
    <div className="table-wrap">
      <table aria-label="Hosts">
        <thead>
          <tr>
            <th>Host</th>
            <th>Status</th>
            <th>Last heartbeat</th>
            <th>Docker Engine</th>
            <th>Executor</th>
            <th>Containers</th>
            <th>Volumes</th>
            <th>Images</th>
            <th>Jobs running</th>
          </tr>
        </thead>
        <tbody>
          {hosts.map((host) => (
            <tr key={host.host_id}>
              <td className="resource-name">{host.host_id}</td>
              <td>
                <StatusBadge status={host.online ? "online" : "offline"} />
              </td>
              <td title={formatDateTime(host.heartbeat_at)}>{formatRelative(host.heartbeat_at)}</td>
              <td>{host.engine ? `${host.engine.version} (${host.engine.os})` : "—"}</td>
              <td>{host.executor_version ?? "—"}</td>
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
        </tbody>
      </table>
    </div>
  );
}

export function ContainersTable({ containers }: { containers: Schemas["ContainerOut"][] }) {
  return (
    <div className="table-wrap">
      <table aria-label="Containers">
        <thead>
          <tr>
            <th>Container</th>
            <th>Host</th>
            <th>Image</th>
            <th>State</th>
            <th>Compose project</th>
            <th>Protection</th>
            <th>Last backup</th>
            <th>Actions</th>
          </tr>
        </thead>
        <tbody>
          {containers.map((c) => (
            <tr key={`${c.host_id}/${c.id}`}>
              <td className="resource-name">{c.name}</td>
              <td>{c.host_id}</td>
              <td>{c.image}</td>
              <td>
                <StatusBadge status={c.state === "running" ? "online" : "idle"} label={c.state} />
              </td>
              <td>{c.compose_project ?? "—"}</td>
              <td>
                <ProtectionCell protectedBy={c.protected_by} newPlanLink={newPlanFor(c.host_id, "container", c.name)} />
              </td>
              <td>
                <LastBackupCell backupAt={c.last_backup_at} verifiedAt={c.last_verified_at} />
              </td>
              <td>
                <BackUpNow resource={{ hostId: c.host_id, kind: "container", name: c.name }} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function VolumesTable({ volumes }: { volumes: Schemas["VolumeOut"][] }) {
  return (
    <div className="table-wrap">
      <table aria-label="Volumes">
        <thead>
          <tr>
            <th>Volume</th>
            <th>Host</th>
            <th>Size</th>
            <th>Used by</th>
            <th>Protection</th>
            <th>Last backup</th>
            <th>Actions</th>
          </tr>
        </thead>
        <tbody>
          {volumes.map((v) => (
            <tr key={`${v.host_id}/${v.name}`}>
              <td className="resource-name">{v.name}</td>
              <td>{v.host_id}</td>
              <td>{formatBytes(v.size_bytes)}</td>
              <td>{v.used_by.length ? v.used_by.map((u) => u.container_name).join(", ") : "—"}</td>
              <td>
                <ProtectionCell protectedBy={v.protected_by} newPlanLink={newPlanFor(v.host_id, "volume", v.name)} />
              </td>
              <td>
                <LastBackupCell backupAt={v.last_backup_at} verifiedAt={v.last_verified_at} />
              </td>
              <td>
                <BackUpNow resource={{ hostId: v.host_id, kind: "volume", name: v.name }} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function ImagesTable({ images }: { images: Schemas["ImageOut"][] }) {
  return (
    <div className="table-wrap">
      <table aria-label="Images">
        <thead>
          <tr>
            <th>Image</th>
            <th>Host</th>
            <th>Size</th>
            <th>Protection</th>
            <th>Actions</th>
          </tr>
        </thead>
        <tbody>
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
        </tbody>
      </table>
    </div>
  );
}
