// The plan editor's state and its translation to and from the API's plan body. Pure, so the
// round trip (plan → form → body) can be tested without a browser.
import type { Schemas } from "../../api/client";
import { entryUnder, isUnder } from "../../lib/fieldMessages";
import { numberProblem, parseNumber, type NumberRule } from "../../lib/numberField";

export type ResourceKind = "volume" | "container" | "image";
export const RESOURCE_KINDS: readonly ResourceKind[] = ["volume", "container", "image"];

type Selector = Schemas["TargetSelectorIn"];
type Hook = Schemas["HookCommandIn"];
type Retention = Schemas["RetentionPolicyIn"];
export type PlanBody = Schemas["PlanCreate"];

/** Per resource kind: the names ticked, and one rule by labels and/or compose project. */
export interface KindTargets {
  names: string[];
  /** "key=value, key2=value2" as typed. */
  labels: string;
  composeProject: string;
}

export interface TargetsForm {
  byKind: Record<ResourceKind, KindTargets>;
  /** Selectors the pickers cannot show (names combined with labels, or a second rule of a
   *  kind): kept as they are so saving never drops part of what a plan backs up. */
  other: Selector[];
}

export interface HookForm {
  container: string;
  /** argv typed as one line, split on spaces outside quotes. */
  command: string;
  timeoutSeconds: string;
  onError: "fail" | "continue";
}

export type WithinUnit = "seconds" | "hours" | "days" | "weeks";
export const UNIT_SECONDS: Record<WithinUnit, number> = { seconds: 1, hours: 3600, days: 86400, weeks: 604800 };

export interface PlanForm {
  name: string;
  hostId: string;
  cron: string;
  timezone: string;
  enabled: boolean;
  targets: TargetsForm;
  format: "archive" | "repository";
  compression: "zstd" | "gzip" | "none";
  compressionLevel: string;
  stopContainers: boolean;
  includeImage: boolean;
  includeBindMounts: boolean;
  preCommands: HookForm[];
  postCommands: HookForm[];
  /** Each count as typed: an emptied field stays empty until the user types again. */
  retention: Record<RetentionCount, string>;
  keepWithin: string;
  keepWithinUnit: WithinUnit;
  uploadTargets: string[];
  localKeep: "all" | "last" | "none";
  localLast: string;
  verifyCron: string;
  missedRunGraceSeconds: string;
  /** Restores may write setuid/setgid files; only an admin may change it (the API says 403 otherwise). */
  restoreSpecialBits: boolean;
}

export type RetentionCount = keyof Required<Omit<Retention, "keep_within_seconds">>;

export const DEFAULT_RETENTION: Record<RetentionCount, number> = {
  keep_last: 7,
  keep_daily: 0,
  keep_weekly: 0,
  keep_monthly: 0,
  keep_yearly: 0,
  keep_minimum: 1,
};

/** The retention counts in the order the form shows them, with the API's bounds. */
export const RETENTION_COUNTS: { key: RetentionCount; label: string; hint?: string; min: number; max: number }[] = [
  { key: "keep_last", label: "Keep last", hint: "The newest N backups of each resource", min: 0, max: 10000 },
  { key: "keep_daily", label: "Keep daily", hint: "The newest backup of each of the last N days that have one", min: 0, max: 10000 },
  { key: "keep_weekly", label: "Keep weekly", min: 0, max: 10000 },
  { key: "keep_monthly", label: "Keep monthly", min: 0, max: 10000 },
  { key: "keep_yearly", label: "Keep yearly", min: 0, max: 1000 },
  { key: "keep_minimum", label: "Keep minimum", hint: "Never fewer than this many (at least 1)", min: 1, max: 10000 },
];

/** The longest "keep within" the API takes, in seconds (about 100 years). */
const MAX_KEEP_WITHIN_SECONDS = 3162240000;

function retentionText(counts: Partial<Record<RetentionCount, number | null>>): Record<RetentionCount, string> {
  const text = {} as Record<RetentionCount, string>;
  for (const { key } of RETENTION_COUNTS) text[key] = String(counts[key] ?? DEFAULT_RETENTION[key]);
  return text;
}

function emptyKind(): KindTargets {
  return { names: [], labels: "", composeProject: "" };
}

export function emptyTargets(): TargetsForm {
  return { byKind: { volume: emptyKind(), container: emptyKind(), image: emptyKind() }, other: [] };
}

export function browserTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
}

export function newPlanForm(timezone: string = browserTimeZone()): PlanForm {
  return {
    name: "",
    hostId: "",
    cron: "0 3 * * *",
    timezone,
    enabled: true,
    targets: emptyTargets(),
    format: "archive",
    compression: "zstd",
    compressionLevel: "",
    stopContainers: false,
    includeImage: false,
    includeBindMounts: false,
    preCommands: [],
    postCommands: [],
    retention: retentionText(DEFAULT_RETENTION),
    keepWithin: "0",
    keepWithinUnit: "days",
    uploadTargets: [],
    localKeep: "all",
    localLast: "1",
    verifyCron: "",
    missedRunGraceSeconds: "3600",
    restoreSpecialBits: false,
  };
}

/** A new plan started from a link (/plans/new?host=h1&volume=data or &container=app): the host
 *  chosen and that resource ticked, so "Create a plan" on an unprotected volume means it. */
export function newPlanFormFromSearch(search: URLSearchParams, timezone: string = browserTimeZone()): PlanForm {
  const form = newPlanForm(timezone);
  const host = search.get("host")?.trim();
  if (!host) return form;
  form.hostId = host;
  for (const kind of RESOURCE_KINDS) {
    const name = search.get(kind)?.trim();
    if (name) form.targets.byKind[kind].names = [name];
  }
  return form;
}

// ---- labels -------------------------------------------------------------------------------

/** "a=1, b=2" → {a: "1", b: "2"}; an error sentence for a pair without "=" or a key. */
export function parseLabels(text: string): { labels: Record<string, string>; error: string | null } {
  const labels: Record<string, string> = {};
  for (const raw of text.split(",")) {
    const pair = raw.trim();
    if (!pair) continue;
    const at = pair.indexOf("=");
    if (at <= 0) return { labels, error: `"${pair}" is not key=value` };
    labels[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
  }
  return { labels, error: null };
}

export function formatLabels(labels: Record<string, string> | undefined): string {
  return Object.entries(labels ?? {})
    .map(([key, value]) => `${key}=${value}`)
    .join(", ");
}

// ---- targets ------------------------------------------------------------------------------

/** The API's selectors for the form's targets: per kind one selector with the ticked names
 *  and one with the labels and/or compose project, then the kept ones. */
export function selectorsFromTargets(targets: TargetsForm): Selector[] {
  const selectors: Selector[] = [];
  for (const kind of RESOURCE_KINDS) {
    const { names, labels, composeProject } = targets.byKind[kind];
    if (names.length) selectors.push({ kind, names: [...names], label_selector: {} });
    const labelSelector = parseLabels(labels).labels;
    const project = composeProject.trim();
    if (Object.keys(labelSelector).length || project) {
      const selector: Selector = { kind, names: [], label_selector: labelSelector };
      if (project) selector.compose_project = project;
      selectors.push(selector);
    }
  }
  return [...selectors, ...targets.other];
}

/** The form's targets for a plan's selectors (the inverse of selectorsFromTargets). */
export function targetsFromSelectors(selectors: readonly Selector[]): TargetsForm {
  const targets = emptyTargets();
  const ruleTaken: Record<ResourceKind, boolean> = { volume: false, container: false, image: false };
  for (const selector of selectors) {
    const kind = selector.kind;
    const names = selector.names ?? [];
    const labels = selector.label_selector ?? {};
    const hasRule = Object.keys(labels).length > 0 || (selector.compose_project ?? null) !== null;
    if (names.length && !hasRule) {
      const picked = targets.byKind[kind].names;
      for (const name of names) if (!picked.includes(name)) picked.push(name);
    } else if (!names.length && hasRule && !ruleTaken[kind] && !hasCommaOrEquals(labels)) {
      ruleTaken[kind] = true;
      targets.byKind[kind].labels = formatLabels(labels);
      targets.byKind[kind].composeProject = selector.compose_project ?? "";
    } else {
      targets.other.push(selector);
    }
  }
  return targets;
}

/** Labels the "k=v, k=v" text cannot carry exactly stay as a kept selector instead. */
function hasCommaOrEquals(labels: Record<string, string>): boolean {
  return Object.entries(labels).some(([k, v]) => /[,=]/.test(k) || v.includes(",") || k !== k.trim() || v !== v.trim());
}

/** "volume dev-data", "container label app=db", for lists. */
export function describeSelector(selector: Selector): string {
  const parts: string[] = [];
  if (selector.names?.length) parts.push(selector.names.join(", "));
  const labels = formatLabels(selector.label_selector);
  if (labels) parts.push(`label ${labels}`);
  if (selector.compose_project) parts.push(`compose project ${selector.compose_project}`);
  return `${selector.kind} ${parts.join(" with ")}`;
}

// ---- hook commands --------------------------------------------------------------------------

/** Split a command line into argv: spaces separate, quotes group, a backslash escapes. */
export function splitArgv(line: string): string[] {
  const argv: string[] = [];
  let current = "";
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < line.length; i += 1) {
    const char = line[i];
    if (quote) {
      if (char === quote) quote = null;
      else if (char === "\\" && quote === '"' && i + 1 < line.length) current += line[++i];
      else current += char;
    } else if (char === '"' || char === "'") {
      quote = char;
      inWord = true;
    } else if (char === "\\" && i + 1 < line.length) {
      current += line[++i];
      inWord = true;
    } else if (/\s/.test(char)) {
      if (inWord) argv.push(current);
      current = "";
      inWord = false;
    } else {
      current += char;
      inWord = true;
    }
  }
  if (inWord) argv.push(current);
  return argv;
}

/** argv as one line that splitArgv reads back the same. */
export function joinArgv(argv: readonly string[]): string {
  return argv.map((arg) => (arg !== "" && /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'"'"'`)}'`)).join(" ");
}

function hookToForm(hook: Hook): HookForm {
  return {
    container: hook.container,
    command: joinArgv(hook.command),
    timeoutSeconds: String(hook.timeout_seconds ?? 300),
    onError: hook.on_error ?? "fail",
  };
}

function hookToBody(hook: HookForm): Hook {
  return {
    container: hook.container.trim(),
    command: splitArgv(hook.command),
    timeout_seconds: Number(hook.timeoutSeconds.trim()),
    on_error: hook.onError,
  };
}

export function emptyHook(): HookForm {
  return { container: "", command: "", timeoutSeconds: "300", onError: "fail" };
}

// ---- whole plan ------------------------------------------------------------------------------

/** The largest unit that states `seconds` exactly (a week, a day, an hour or seconds). */
export function withinFromSeconds(seconds: number): { value: string; unit: WithinUnit } {
  if (seconds === 0) return { value: "0", unit: "days" };
  for (const unit of ["weeks", "days", "hours"] as const) {
    if (seconds % UNIT_SECONDS[unit] === 0) return { value: String(seconds / UNIT_SECONDS[unit]), unit };
  }
  return { value: String(seconds), unit: "seconds" };
}

export function formFromPlan(plan: Schemas["PlanOut"]): PlanForm {
  const within = withinFromSeconds(plan.retention.keep_within_seconds ?? 0);
  const { keep_within_seconds: _ignored, ...retention } = plan.retention;
  void _ignored;
  return {
    name: plan.name,
    hostId: plan.host_id,
    cron: plan.cron,
    timezone: plan.timezone,
    enabled: plan.enabled,
    targets: targetsFromSelectors(plan.targets),
    format: plan.options.format ?? "archive",
    compression: plan.options.compression ?? "zstd",
    compressionLevel: plan.options.compression_level == null ? "" : String(plan.options.compression_level),
    stopContainers: plan.options.stop_containers ?? false,
    includeImage: plan.options.include_image ?? false,
    includeBindMounts: plan.options.include_bind_mounts ?? false,
    preCommands: (plan.options.pre_commands ?? []).map(hookToForm),
    postCommands: (plan.options.post_commands ?? []).map(hookToForm),
    retention: retentionText(retention),
    keepWithin: within.value,
    keepWithinUnit: within.unit,
    uploadTargets: [...plan.upload_targets],
    localKeep: plan.local_copies.keep ?? "all",
    localLast: String(plan.local_copies.last ?? 1),
    verifyCron: plan.verify_cron ?? "",
    missedRunGraceSeconds: String(plan.missed_run_grace_seconds),
    restoreSpecialBits: plan.restore_special_bits,
  };
}

/** The policy typed, or null while a field of it is not a number the API takes (the retention
 *  preview waits for one; a save is refused by localErrors first). */
export function retentionFromForm(form: PlanForm): Retention | null {
  if (Object.keys(numberErrors(form)).some((path) => path.startsWith("retention."))) return null;
  const count = (key: RetentionCount) => Number(form.retention[key].trim());
  return {
    keep_last: count("keep_last"),
    keep_daily: count("keep_daily"),
    keep_weekly: count("keep_weekly"),
    keep_monthly: count("keep_monthly"),
    keep_yearly: count("keep_yearly"),
    keep_minimum: count("keep_minimum"),
    keep_within_seconds: Math.round(Number(form.keepWithin.trim()) * UNIT_SECONDS[form.keepWithinUnit]),
  };
}

/** The body of POST /plans (PUT /plans/{id} takes the same fields; the host is left out there).
 *  Numbers are read as typed: call it once localErrors(form) is empty. */
export function bodyFromForm(form: PlanForm): PlanBody {
  const level = parseNumber(form.compressionLevel);
  const retention = retentionFromForm(form);
  if (retention === null) throw new Error("the retention fields are not numbers: check localErrors first");
  return {
    name: form.name.trim(),
    host_id: form.hostId,
    cron: form.cron.trim(),
    timezone: form.timezone.trim(),
    enabled: form.enabled,
    targets: selectorsFromTargets(form.targets),
    options: {
      format: form.format,
      compression: form.compression,
      compression_level: level,
      stop_containers: form.stopContainers,
      include_image: form.includeImage,
      include_bind_mounts: form.includeBindMounts,
      pre_commands: form.preCommands.map(hookToBody),
      post_commands: form.postCommands.map(hookToBody),
    },
    upload_targets: [...form.uploadTargets],
    retention,
    local_copies: localCopiesFromForm(form),
    verify_cron: form.verifyCron.trim() === "" ? null : form.verifyCron.trim(),
    missed_run_grace_seconds: Number(form.missedRunGraceSeconds.trim()),
    restore_special_bits: form.restoreSpecialBits,
  };
}

/** "last" only counts when the host keeps the newest: a count left in the hidden field that is
 *  no count goes as the API's default, 1 (it means nothing until "last" is chosen again). */
function localCopiesFromForm(form: PlanForm): PlanBody["local_copies"] {
  const last = parseNumber(form.localLast);
  if (form.localKeep !== "last" && (last === null || !Number.isInteger(last) || last < 1)) return { keep: form.localKeep, last: 1 };
  return { keep: form.localKeep, last: Number(last) };
}

/** Every number field of the form that holds no number the API takes, by the API's field path,
 *  with a message that names the field ("Keep last: enter a whole number from 0 to 10000"). */
export function numberErrors(form: PlanForm): Record<string, string> {
  const errors: Record<string, string> = {};
  const check = (path: string, text: string, rule: NumberRule) => {
    const problem = numberProblem(text, rule);
    if (problem) errors[path] = problem;
  };
  for (const { key, label, min, max } of RETENTION_COUNTS) {
    check(`retention.${key}`, form.retention[key], { label, min, max, integer: true });
  }
  check("retention.keep_within_seconds", form.keepWithin, {
    label: `Keep within (${form.keepWithinUnit})`,
    min: 0,
    max: Math.floor(MAX_KEEP_WITHIN_SECONDS / UNIT_SECONDS[form.keepWithinUnit]),
  });
  check("options.compression_level", form.compressionLevel, { label: "Compression level", min: -7, max: 22, integer: true, optional: true });
  const hooks = [
    ["pre_commands", "Before", form.preCommands],
    ["post_commands", "After", form.postCommands],
  ] as const;
  for (const [field, which, list] of hooks) {
    list.forEach((hook, index) =>
      check(`options.${field}.${index}.timeout_seconds`, hook.timeoutSeconds, {
        label: `${which} ${index + 1}: timeout (s)`,
        min: 0,
        max: 86400,
        aboveMin: true,
      }),
    );
  }
  if (form.localKeep === "last") {
    check("local_copies.last", form.localLast, { label: "Newest archives kept on the host", min: 1, max: 10000, integer: true });
  }
  check("missed_run_grace_seconds", form.missedRunGraceSeconds, { label: "Missed-run grace (seconds)", min: 0, max: 2592000 });
  return errors;
}

/** Mistakes the form can name before asking the API (the API checks everything again). */
export function localErrors(form: PlanForm): Record<string, string> {
  const errors: Record<string, string> = numberErrors(form);
  for (const kind of RESOURCE_KINDS) {
    const { error } = parseLabels(form.targets.byKind[kind].labels);
    if (error) errors[`targets.${kind}.labels`] = error;
  }
  if (selectorsFromTargets(form.targets).length === 0) {
    errors.targets = "Pick at least one volume, container or image, or give a label or compose project.";
  }
  if (!form.hostId) errors.host_id = "Choose the host this plan backs up.";
  return errors;
}

/** The first message for a field or anything under it ("targets" finds "targets.0.names"). */
export function errorUnder(fields: Record<string, string>, prefix: string): string | undefined {
  const entry = entryUnder(fields, prefix);
  if (!entry) return undefined;
  const [path, message] = entry;
  return path === prefix ? message : `${path}: ${message}`;
}

/** Field paths the API may name, so an "Invalid" sentence lands next to its field. */
export const PLAN_FIELDS = [
  "name",
  "host_id",
  "cron",
  "timezone",
  "enabled",
  "targets",
  "options",
  "upload_targets",
  "retention",
  "local_copies",
  "verify_cron",
  "missed_run_grace_seconds",
] as const;

/** The API's field paths each part of the form sets. */
const PATHS_OF: Record<Exclude<keyof PlanForm, "retention">, string[]> = {
  name: ["name"],
  hostId: ["host_id"],
  cron: ["cron"],
  timezone: ["timezone"],
  enabled: ["enabled"],
  targets: ["targets"],
  format: ["options.format"],
  compression: ["options.compression"],
  compressionLevel: ["options.compression_level"],
  stopContainers: ["options.stop_containers"],
  includeImage: ["options.include_image"],
  includeBindMounts: ["options.include_bind_mounts"],
  preCommands: ["options.pre_commands"],
  postCommands: ["options.post_commands"],
  keepWithin: ["retention.keep_within_seconds"],
  keepWithinUnit: ["retention.keep_within_seconds"],
  uploadTargets: ["upload_targets"],
  localKeep: ["local_copies"],
  localLast: ["local_copies.last"],
  verifyCron: ["verify_cron"],
  missedRunGraceSeconds: ["missed_run_grace_seconds"],
  restoreSpecialBits: ["restore_special_bits"],
};

/** The API's messages (by field path) left once `patch` changes `before`: a message about a field
 *  that changed (or about the section it is in, as a whole) goes, as the user has answered it. */
export function withoutMessagesOf(messages: Record<string, string>, before: PlanForm, patch: Partial<PlanForm>): Record<string, string> {
  const changed: string[] = [];
  for (const key of Object.keys(patch) as (keyof PlanForm)[]) {
    if (patch[key] === before[key]) continue;
    if (key === "retention") {
      const counts = patch.retention!;
      for (const { key: count } of RETENTION_COUNTS) if (counts[count] !== before.retention[count]) changed.push(`retention.${count}`);
    } else {
      changed.push(...PATHS_OF[key]);
    }
  }
  // "retention" for "retention.keep_last": a message on the whole section was about it too
  const sections = changed.map((path) => path.split(".")[0]);
  return Object.fromEntries(
    Object.entries(messages).filter(([key]) => !changed.some((path) => isUnder(key, path)) && !sections.includes(key)),
  );
}
