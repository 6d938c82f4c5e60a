// The restore wizard's steps as a pure reducer: pick → target → preview → confirm → follow.
// The page keeps server calls outside; this only decides which step shows and what it holds.
import type { Schemas } from "../../api/client";

export type Artifact = Schemas["ArtifactOut"];
export type RestorePreview = Schemas["RestorePreview"];
export type RestoreTargetIn = Schemas["RestoreTargetIn"];

export const STEPS = [
  { id: "pick", label: "Pick a backup" },
  { id: "target", label: "Choose the target" },
  { id: "preview", label: "Preview" },
  { id: "confirm", label: "Confirm" },
  { id: "follow", label: "Follow" },
] as const;

export type Step = (typeof STEPS)[number]["id"];
export type TargetMode = "original" | "new";

export interface WizardState {
  step: Step;
  artifactId: string | null;
  mode: TargetMode;
  newName: string;
  /** A new volume gets the original's driver and options (its host directory or share) instead of plain local. */
  sameStorage: boolean;
  /** Before replacing an existing volume or container, back up its current data (so a wrong restore can be undone). */
  backupFirst: boolean;
  /** The preview the user is looking at; its token confirms exactly this plan of action. */
  preview: RestorePreview | null;
  jobId: string | null;
  /** The backup of the current data the restore takes first, if any (its own job). */
  backupJobId: string | null;
  /** Why the wizard moved the user (an expired token), shown on the step it moved to. */
  notice: string | null;
}

export type WizardAction =
  | { type: "pick"; artifactId: string }
  /** `suggestedName`: a free name to prefill when the new name is still empty. */
  | { type: "mode"; mode: TargetMode; suggestedName?: string }
  | { type: "backupFirst"; value: boolean }
  | { type: "newName"; name: string }
  | { type: "sameStorage"; value: boolean }
  | { type: "previewed"; preview: RestorePreview }
  | { type: "continue" }
  | { type: "confirmed"; jobId: string; backupJobId?: string | null }
  /** The token expired or was used (409/410/403 on confirm): preview again. */
  | { type: "tokenRejected"; message: string }
  | { type: "back" }
  | { type: "restart" };

export function initialWizard(
  params: { artifact?: string | null; job?: string | null; backupJob?: string | null } = {},
): WizardState {
  const base: WizardState = {
    step: "pick",
    artifactId: null,
    mode: "original",
    newName: "",
    sameStorage: false,
    backupFirst: true,
    preview: null,
    jobId: null,
    backupJobId: null,
    notice: null,
  };
  if (params.job) return { ...base, step: "follow", jobId: params.job, backupJobId: params.backupJob ?? null };
  if (params.artifact) return { ...base, step: "target", artifactId: params.artifact };
  return base;
}

const PREVIOUS: Partial<Record<Step, Step>> = { target: "pick", preview: "target", confirm: "preview" };

export function wizardReducer(state: WizardState, action: WizardAction): WizardState {
  switch (action.type) {
    case "pick":
      return { ...initialWizard(), step: "target", artifactId: action.artifactId };
    case "mode": {
      const prefill = action.mode === "new" && state.newName.trim() === "" && action.suggestedName;
      return { ...state, mode: action.mode, newName: prefill ? action.suggestedName! : state.newName, preview: null };
    }
    case "backupFirst":
      return { ...state, backupFirst: action.value, preview: null };
    case "newName":
      return { ...state, newName: action.name, preview: null };
    case "sameStorage":
      return { ...state, sameStorage: action.value, preview: null };
    case "previewed":
      if (state.step !== "target" && state.step !== "preview") return state;
      return { ...state, step: "preview", preview: action.preview, notice: null };
    case "continue":
      return state.step === "preview" && state.preview ? { ...state, step: "confirm", notice: null } : state;
    case "confirmed":
      return state.step === "confirm"
        ? { ...state, step: "follow", jobId: action.jobId, backupJobId: action.backupJobId ?? null, preview: null }
        : state;
    case "tokenRejected":
      return state.step === "confirm" ? { ...state, step: "preview", preview: null, notice: action.message } : state;
    case "back": {
      const previous = PREVIOUS[state.step];
      if (!previous) return state;
      // Leaving the preview drops its token: a changed target needs a new one.
      const preview = previous === "preview" ? state.preview : null;
      return previous === "pick"
        ? initialWizard()
        : { ...state, step: previous, preview, notice: null };
    }
    case "restart":
      return initialWizard();
  }
}

/** The restore request body's target for an artifact and the chosen mode. `sameStorage` applies
 * only to a new volume (a replaced volume keeps its own driver and options). */
export function restoreTarget(
  artifact: Artifact,
  mode: TargetMode,
  newName: string,
  sameStorage = false,
): RestoreTargetIn | null {
  const kind = targetKind(artifact);
  if (!kind) return null;
  if (mode === "new") {
    const same = kind === "volume" && sameStorage;
    return { kind, name: newName.trim(), replace_existing: false, allow_stop: false, same_storage_as_original: same };
  }
  // The original: the preview shows what is overwritten and stopped before anything happens.
  return { kind, name: originalName(artifact), replace_existing: true, allow_stop: true, same_storage_as_original: false };
}

/** What an archive restores to: a volume archive to a volume, a container's config to a container. */
export function targetKind(artifact: Pick<Artifact, "kind">): RestoreTargetIn["kind"] | null {
  switch (artifact.kind) {
    case "volume":
      return "volume";
    case "config":
      return "container";
    case "image":
      return "image";
    default:
      return null; // bind mounts are not restored by DockBack
  }
}

/** The object the archive came from: a volume archive's role is the volume's name. */
export function originalName(artifact: Pick<Artifact, "kind" | "role" | "resource">): string {
  return artifact.kind === "volume" ? artifact.role : artifact.resource.name;
}

/** Docker's longest name DockBack takes for a volume or container (a local volume's directory name). */
export const MAX_NAME_LENGTH = 255;

/** A name beside the original that nothing on the host uses yet: `<original>-restored`, then
 * `<original>-restored-2`, `-3`, … (cut to fit the length limit). `taken`: the names of that kind on the host. */
export function suggestFreeName(original: string, taken: Iterable<string>): string {
  const used = new Set(taken);
  for (let n = 1; ; n++) {
    const suffix = n === 1 ? "-restored" : `-restored-${n}`;
    const name = original.slice(0, MAX_NAME_LENGTH - suffix.length) + suffix;
    if (!used.has(name)) return name;
  }
}

/** Whether confirming needs the target's name typed again: only a restore that overwrites something
 * (the preview then names it in `confirm_name`); into a new name the Confirm button alone starts it. */
export function needsTypedName(preview: Pick<RestorePreview, "confirm_name">): boolean {
  return !!preview.confirm_name;
}

/** What a finished restore did, in words, from its job's log ("… as a new object" or "… replacing …"). */
export function restoreFinishedWords(
  job: { resource_kind?: string | null; resource_name?: string | null },
  log: readonly { message: string }[],
): string {
  const what = [job.resource_kind, job.resource_name].filter(Boolean).join(" ");
  if (log.some((line) => line.message.includes("as a new object"))) {
    return `The restore finished: ${what} was created with the restored data; the original was not touched.`;
  }
  if (log.some((line) => line.message.includes("replacing the existing one"))) {
    return `The restore finished: ${what} now holds the restored data.`;
  }
  return `The restore into ${what} finished.`;
}

/** The confirm button stays disabled until the name is typed exactly (no trimming, same case). */
export function confirmNameMatches(typed: string, expected: string | null | undefined): boolean {
  return !!expected && typed === expected;
}
