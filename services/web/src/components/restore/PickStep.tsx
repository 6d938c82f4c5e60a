// Step 1: choose a resource that has backups, then one of its archives.
import { useMemo, useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { api, type Schemas } from "../../api/client";
import { unwrap } from "../../api/errors";
import { formatBytes, formatDateTime } from "../../lib/format";
import { Copies } from "../backups/Copies";
import { EmptyState, ErrorBanner, Field, Loading, StatusBadge } from "../ui";
import { targetKind } from "./wizard";
import { DataTable } from "../DataTable";

type Artifact = Schemas["ArtifactOut"];

export interface ResourceChoice {
  key: string;
  hostId: string;
  kind: Artifact["resource"]["kind"];
  name: string;
}

/** The distinct resources (per host) among artifacts, in the order met (newest backup first). */
export function resourcesOf(artifacts: readonly Artifact[]): ResourceChoice[] {
  const seen = new Map<string, ResourceChoice>();
  for (const a of artifacts) {
    const key = `${a.host_id}|${a.resource.kind}|${a.resource.name}`;
    if (!seen.has(key)) seen.set(key, { key, hostId: a.host_id, kind: a.resource.kind, name: a.resource.name });
  }
  return [...seen.values()];
}

export function resourceLabel(choice: ResourceChoice): string {
  return `${choice.name} (${choice.kind} on ${choice.hostId})`;
}

export function PickStep({ locked, onPick }: { locked: boolean; onPick: (artifactId: string) => void }) {
  // The resources come from the newest restorable archives (one page of the catalog).
  const recent = useQuery({
    queryKey: ["artifacts", { state: "available", limit: 500 }],
    queryFn: async () => unwrap(await api.GET("/artifacts", { params: { query: { state: "available", limit: 500 } } })),
  });
  const choices = useMemo(() => resourcesOf(recent.data?.items ?? []), [recent.data]);
  const [chosenKey, setChosenKey] = useState("");
  const chosen = choices.find((c) => c.key === chosenKey) ?? null;

  if (recent.isPending) return <Loading what="Loading backups" />;
  if (recent.error) return <ErrorBanner error={recent.error} />;
  if (choices.length === 0) {
    return (
      <EmptyState action={{ to: "/plans/new", label: "Create a plan" }}>
        There is no backup to restore yet. Back up a resource first (a plan, or "back up now" on Resources).
      </EmptyState>
    );
  }
  return (
    <div>
      <div className="filters">
        <Field label="Resource" htmlFor="restore-resource">
          <select id="restore-resource" value={chosenKey} onChange={(e) => setChosenKey(e.target.value)}>
            <option value="">Choose a resource…</option>
            {choices.map((c) => (
              <option key={c.key} value={c.key}>
                {resourceLabel(c)}
              </option>
            ))}
          </select>
        </Field>
      </div>
      {chosen ? <ArtifactsOf resource={chosen} locked={locked} onPick={onPick} /> : null}
    </div>
  );
}

function ArtifactsOf({ resource, locked, onPick }: { resource: ResourceChoice; locked: boolean; onPick: (id: string) => void }) {
  const filters = {
    host_id: resource.hostId,
    resource_kind: resource.kind,
    resource_name: resource.name,
    state: "available" as const,
    limit: 100,
  };
  const list = useQuery({
    queryKey: ["artifacts", filters],
    queryFn: async () => unwrap(await api.GET("/artifacts", { params: { query: filters } })),
  });
  if (list.isPending) return <Loading what="Loading the backups of this resource" />;
  if (list.error) return <ErrorBanner error={list.error} />;
  if (list.data.items.length === 0) return <EmptyState>This resource has no restorable backup left.</EmptyState>;
  return (
    <DataTable label="Backups of the resource" stack headers={["Created", "Part", "Size", "Copies", "Verified", ""]}>
      {list.data.items.map((a) => (
        <tr key={a.id}>
          <td>{formatDateTime(a.created_at)}</td>
          <td>
            {a.kind} {a.role !== a.resource.name ? <span className="muted">({a.role})</span> : null}
          </td>
          <td>{formatBytes(a.size_bytes)}</td>
          <td>
            <Copies artifact={a} />
          </td>
          <td>{a.verified_at ? formatDateTime(a.verified_at) : <StatusBadge status="unprotected" label="never" />}</td>
          <td>
            {targetKind(a) ? (
              <button type="button" className="primary small" disabled={locked} onClick={() => onPick(a.id)}>
                Restore this
              </button>
            ) : (
              <span className="muted">not restorable here</span>
            )}
          </td>
        </tr>
      ))}
    </DataTable>
  );
}
