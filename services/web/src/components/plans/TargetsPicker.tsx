// What a plan backs up on its host: volumes, containers and images ticked by name, or matched
// by labels and/or compose project (so resources created later join the plan).
import { useQuery } from "@tanstack/react-query";
import { api, type Schemas } from "../../api/client";
import { unwrap } from "../../api/errors";
import { formatBytes } from "../../lib/format";
import {
  describeSelector,
  errorUnder,
  parseLabels,
  RESOURCE_KINDS,
  type KindTargets,
  type ResourceKind,
  type TargetsForm,
} from "./planForm";

const COMPOSE_LABEL = "com.docker.compose.project";
const HEADINGS: Record<ResourceKind, { title: string; one: string }> = {
  volume: { title: "Volumes", one: "Volume" },
  container: { title: "Containers", one: "Container" },
  image: { title: "Images", one: "Image" },
};

interface Discovered {
  name: string;
  detail: string;
}

/** Name the executor resolves an image by: its first tag, else its id. */
function imageName(image: Schemas["ImageOut"]): string {
  return image.tags[0] ?? image.id;
}

export function useHostResources(hostId: string) {
  const enabled = hostId !== "";
  const host = { params: { query: { host_id: hostId } } };
  const volumes = useQuery({
    queryKey: ["resources", "volumes", hostId],
    queryFn: async () => unwrap(await api.GET("/resources/volumes", host)),
    enabled,
  });
  const containers = useQuery({
    queryKey: ["resources", "containers", hostId],
    queryFn: async () => unwrap(await api.GET("/resources/containers", host)),
    enabled,
  });
  const images = useQuery({
    queryKey: ["resources", "images", hostId],
    queryFn: async () => unwrap(await api.GET("/resources/images", host)),
    enabled,
  });
  return { volumes, containers, images };
}

/** Compose projects seen on the host: containers' project labels (and volumes made by compose). */
export function composeProjects(
  containers: readonly Schemas["ContainerOut"][],
  volumes: readonly Schemas["VolumeOut"][],
): string[] {
  const seen = new Set<string>();
  for (const container of containers) {
    const project = container.labels[COMPOSE_LABEL] ?? container.compose_project;
    if (project) seen.add(project);
  }
  for (const volume of volumes) if (volume.compose_project) seen.add(volume.compose_project);
  return [...seen].sort();
}

export function TargetsPicker({
  hostId,
  value,
  onChange,
  readOnly,
  errors,
}: {
  hostId: string;
  value: TargetsForm;
  onChange: (next: TargetsForm) => void;
  readOnly: boolean;
  errors: Record<string, string>;
}) {
  const { volumes, containers, images } = useHostResources(hostId);
  const discovered: Record<ResourceKind, Discovered[]> = {
    volume: (volumes.data ?? []).map((v) => ({ name: v.name, detail: formatBytes(v.size_bytes) })),
    container: (containers.data ?? []).map((c) => ({ name: c.name, detail: `${c.image}, ${c.state}` })),
    image: (images.data ?? []).map((i) => ({ name: imageName(i), detail: formatBytes(i.size_bytes) })),
  };
  const projects = composeProjects(containers.data ?? [], volumes.data ?? []);
  const loading = volumes.isPending || containers.isPending || images.isPending;
  const setKind = (kind: ResourceKind, patch: Partial<KindTargets>) =>
    onChange({ ...value, byKind: { ...value.byKind, [kind]: { ...value.byKind[kind], ...patch } } });

  return (
    <fieldset className="plan-section" aria-describedby={errors.targets ? "targets-error" : undefined}>
      <legend>Targets</legend>
      <p className="hint">
        Tick resources by name, or match them by label or compose project: matching resources created later
        join the plan at its next run.
      </p>
      {errorUnder(errors, "targets") ? (
        <div className="field-error" role="alert" id="targets-error">
          {errorUnder(errors, "targets")}
        </div>
      ) : null}
      {!hostId ? <p className="hint">Choose a host to see its volumes, containers and images.</p> : null}
      {hostId && loading ? <p className="hint">Reading the host's resources…</p> : null}
      <div className="targets-grid">
        {RESOURCE_KINDS.map((kind) => (
          <KindPicker
            key={kind}
            kind={kind}
            discovered={discovered[kind]}
            projects={projects}
            value={value.byKind[kind]}
            onChange={(patch) => setKind(kind, patch)}
            readOnly={readOnly}
            labelsError={errors[`targets.${kind}.labels`]}
            showList={hostId !== "" && !loading}
          />
        ))}
      </div>
      {value.other.length ? (
        <div className="field">
          <span className="field-title">Other targets (kept as they are)</span>
          <ul className="plain-list">
            {value.other.map((selector, index) => (
              <li key={index}>
                {describeSelector(selector)}{" "}
                {readOnly ? null : (
                  <button
                    type="button"
                    className="small"
                    onClick={() => onChange({ ...value, other: value.other.filter((_, i) => i !== index) })}
                  >
                    Remove
                  </button>
                )}
              </li>
            ))}
          </ul>
        </div>
      ) : null}
    </fieldset>
  );
}

function KindPicker({
  kind,
  discovered,
  projects,
  value,
  onChange,
  readOnly,
  labelsError,
  showList,
}: {
  kind: ResourceKind;
  discovered: Discovered[];
  projects: string[];
  value: KindTargets;
  onChange: (patch: Partial<KindTargets>) => void;
  readOnly: boolean;
  labelsError?: string;
  showList: boolean;
}) {
  const { title, one } = HEADINGS[kind];
  // Names the plan has that the host does not show (removed since): still listed, so they can be unticked.
  const missing = value.names.filter((name) => !discovered.some((d) => d.name === name));
  const rows: Discovered[] = [...discovered, ...missing.map((name) => ({ name, detail: "not on the host now" }))];
  const toggle = (name: string, on: boolean) =>
    onChange({ names: on ? [...value.names, name] : value.names.filter((n) => n !== name) });
  const labelsId = `targets-${kind}-labels`;
  const projectId = `targets-${kind}-compose`;
  const projectOptions = value.composeProject && !projects.includes(value.composeProject) ? [...projects, value.composeProject] : projects;
  const labelProblem = labelsError ?? parseLabels(value.labels).error;

  return (
    <div className="target-kind">
      <h3>{title}</h3>
      {showList && rows.length === 0 ? <p className="hint">No {title.toLowerCase()} on this host.</p> : null}
      <ul className="check-list">
        {rows.map((row) => {
          const id = `target-${kind}-${row.name}`;
          return (
            <li key={row.name}>
              <input
                type="checkbox"
                id={id}
                checked={value.names.includes(row.name)}
                disabled={readOnly}
                onChange={(event) => toggle(row.name, event.target.checked)}
              />
              <label htmlFor={id}>{row.name}</label> <span className="hint">{row.detail}</span>
            </li>
          );
        })}
      </ul>
      <div className={`field ${labelProblem ? "has-error" : ""}`}>
        <label htmlFor={labelsId}>{one} labels (key=value)</label>
        <input
          id={labelsId}
          value={value.labels}
          placeholder="backup=nightly, tier=db"
          readOnly={readOnly}
          onChange={(event) => onChange({ labels: event.target.value })}
        />
        {labelProblem ? (
          <div className="field-error" role="alert">
            {labelProblem}
          </div>
        ) : null}
      </div>
      {kind === "image" && !value.composeProject ? null : (
        <div className="field">
          <label htmlFor={projectId}>{one} compose project</label>
          <select
            id={projectId}
            value={value.composeProject}
            disabled={readOnly}
            onChange={(event) => onChange({ composeProject: event.target.value })}
          >
            <option value="">(none)</option>
            {projectOptions.map((project) => (
              <option key={project} value={project}>
                {project}
              </option>
            ))}
          </select>
        </div>
      )}
    </div>
  );
}
