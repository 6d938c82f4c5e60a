// The plan form: schedule with its next runs, targets, consistency, retention with a preview,
// upload targets and local copies. Saves with POST /plans or PUT /plans/{plan_id}.
import { useEffect, useMemo, useRef, useState, type FormEvent } from "react";
import { Link, useNavigate } from "react-router-dom";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, type Schemas } from "../../api/client";
import { ApiError, fieldErrors, unwrap } from "../../api/errors";
import { useCan, useSession } from "../../auth/session";
import { formatDateTime } from "../../lib/format";
import { unplacedMessages } from "../../lib/fieldMessages";
import { afterPlanChange } from "../../lib/invalidate";
import { Field } from "../ui";
import { InputField } from "../InputField";
import { RefusalSummary, useRefusalFocus, useUnsavedChanges } from "../formGuard";
import { Check, ConsistencyFields } from "./ConsistencyFields";
import { RetentionFields, RetentionPreviewPanel } from "./RetentionFields";
import { TargetsPicker, useHostResources } from "./TargetsPicker";
import {
  bodyFromForm,
  emptyTargets,
  errorUnder,
  localErrors,
  withoutMessagesOf,
  PLAN_FIELDS,
  retentionFromForm,
  type PlanForm,
} from "./planForm";
import { CRON_PRESETS, cronInWords, useSchedulePreview } from "./schedulePreview";
import "./plans.css";

/** Every IANA zone the browser knows, for the time zone field's suggestions. */
function timeZones(): string[] {
  try {
    return (Intl as unknown as { supportedValuesOf?: (key: string) => string[] }).supportedValuesOf?.("timeZone") ?? [];
  } catch {
    return [];
  }
}

/** A fire time in the plan's zone (the browser may not know a zone the API accepts). */
function inZone(iso: string, zone: string): string {
  try {
    return `${formatDateTime(iso, zone)} (${zone})`;
  } catch {
    return iso;
  }
}

/** The messages the form places next to its fields: prefixes that have a place on the form. */
const PLACED = [...PLAN_FIELDS];

export function PlanEditor({ planId, initial }: { planId: string | null; initial: PlanForm }) {
  const can = useCan();
  const navigate = useNavigate();
  const client = useQueryClient();
  const mayWrite = planId === null ? can("POST", "/plans") : can("PUT", "/plans/{plan_id}");
  const readOnly = !mayWrite;
  // Hooks (commands run as root in a container) and bind mounts are an admin's to set or change.
  const { session } = useSession();
  const adminOnlyReadOnly = readOnly || session?.role !== "admin";
  const [form, setForm] = useState<PlanForm>(initial);
  const [serverErrors, setServerErrors] = useState<{ fields: Record<string, string>; general: string | null }>({
    fields: {},
    general: null,
  });
  const [checked, setChecked] = useState(false);
  const [touched, setTouched] = useState(false);
  const formRef = useRef<HTMLFormElement>(null);
  const refusal = useRefusalFocus(formRef);
  const saved = useUnsavedChanges(touched);
  /** A change by the user: the API's message about what changed no longer applies. */
  const change = (patch: Partial<PlanForm>) => {
    setServerErrors((current) => ({ ...current, fields: withoutMessagesOf(current.fields, form, patch) }));
    setForm((current) => ({ ...current, ...patch }));
    setTouched(true);
  };

  const hosts = useQuery({
    queryKey: ["resources", "hosts"],
    queryFn: async () => unwrap(await api.GET("/resources/hosts")),
  });
  // One host (the usual case): a new plan is for it.
  const onlyHost = hosts.data?.length === 1 ? hosts.data[0].host_id : null;
  useEffect(() => {
    if (planId === null && onlyHost) setForm((current) => (current.hostId ? current : { ...current, hostId: onlyHost }));
  }, [planId, onlyHost]);
  const mayReadSettings = can("GET", "/settings");
  const settings = useQuery({
    queryKey: ["settings"],
    queryFn: async () => unwrap(await api.GET("/settings")),
    enabled: mayReadSettings,
  });
  // A new plan compresses as the settings say new plans do, unless the user chose otherwise.
  const defaultCompression = settings.data?.defaults.default_compression as PlanForm["compression"] | undefined;
  useEffect(() => {
    if (planId === null && defaultCompression && initial.compression === "zstd") {
      setForm((current) => (current.compression === initial.compression ? { ...current, compression: defaultCompression } : current));
    }
  }, [planId, defaultCompression, initial.compression]);
  const { containers } = useHostResources(form.hostId);
  const preview = useSchedulePreview(form.cron, form.timezone);
  const zones = useMemo(timeZones, []);

  const local = checked ? localErrors(form) : {};
  const errors = { ...serverErrors.fields, ...local };
  const unplaced = unplacedMessages(serverErrors.fields, PLACED);
  const general = [serverErrors.general, ...unplaced].filter(Boolean).join("; ");

  const save = useMutation({
    mutationFn: async (body: Schemas["PlanCreate"]) => {
      if (planId === null) return unwrap(await api.POST("/plans", { body }));
      const { host_id: _host, ...update } = body; // a plan keeps its host
      void _host;
      return unwrap(await api.PUT("/plans/{plan_id}", { params: { path: { plan_id: planId } }, body: update }));
    },
    onSuccess: async (plan) => {
      client.setQueryData(["plan", plan.id], plan);
      await afterPlanChange(client, plan.id);
      saved();
      navigate("/plans");
    },
    onError: (error) => {
      if (!(error instanceof ApiError)) {
        setServerErrors({ fields: {}, general: error instanceof Error ? error.message : String(error) });
      } else if (error.status === 409) {
        setServerErrors({ fields: { name: error.message }, general: null }); // the one conflict: a name taken
      } else {
        setServerErrors(fieldErrors(error.body, PLAN_FIELDS));
      }
      refusal.refused();
    },
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setChecked(true);
    if (Object.keys(localErrors(form)).length) {
      refusal.refused();
      return;
    }
    setServerErrors({ fields: {}, general: null });
    save.mutate(bodyFromForm(form));
  };

  const targets = settings.data?.targets ?? [];
  const cronError = errorUnder(errors, "cron") ?? preview.cronError;
  const cronWords = cronInWords(form.cron);
  const zoneError = errorUnder(errors, "timezone") ?? preview.timezoneError;

  return (
    <form className="form plan-form" onSubmit={submit} noValidate ref={formRef}>
      {general ? (
        <div className="banner error" role="alert">
          {general}
        </div>
      ) : null}
      {readOnly ? <p className="hint">You can look at this plan; your role cannot change it.</p> : null}
      <InputField
        id="plan-name"
        label="Name"
        error={errorUnder(errors, "name")}
        value={form.name}
        onValue={(name) => change({ name })}
        readOnly={readOnly}
        required
      />
      <Field
        label="Host"
        htmlFor="plan-host"
        error={errorUnder(errors, "host_id")}
        hint={planId !== null ? "A plan stays on the host it was made for." : undefined}
      >
        <select
          id="plan-host"
          value={form.hostId}
          disabled={readOnly || planId !== null}
          onChange={(event) =>
            // Names ticked on one host mean nothing on another: only the host the form came with
            // (a link from a volume) keeps its ticked resource.
            change({
              hostId: event.target.value,
              targets: {
                ...form.targets,
                byKind: event.target.value === initial.hostId ? initial.targets.byKind : emptyTargets().byKind,
              },
            })
          }
        >
          <option value="">{hosts.isPending ? "Loading hosts…" : "Choose a host"}</option>
          {(hosts.data ?? []).map((host) => (
            <option key={host.host_id} value={host.host_id}>
              {host.host_id} {host.online ? "" : "(offline)"}
            </option>
          ))}
          {form.hostId && hosts.data && !hosts.data.some((h) => h.host_id === form.hostId) ? (
            <option value={form.hostId}>{form.hostId}</option>
          ) : null}
        </select>
      </Field>
      {hosts.data && hosts.data.length === 0 ? (
        <p className="hint">No host has reported yet: start the executor on a Docker host, then come back.</p>
      ) : null}

      <fieldset className="plan-section">
        <legend>Schedule</legend>
        <div className="row">
          <InputField
            id="plan-cron"
            label="Cron schedule"
            hint="minute hour day-of-month month day-of-week, e.g. 0 3 * * * for 03:00 every day"
            error={cronError}
            value={form.cron}
            onValue={(cron) => change({ cron })}
            readOnly={readOnly}
            spellCheck={false}
          />
          <Field label="Time zone" htmlFor="plan-timezone" error={zoneError}>
            <input
              id="plan-timezone"
              list="plan-timezones"
              value={form.timezone}
              readOnly={readOnly}
              onChange={(event) => change({ timezone: event.target.value })}
            />
            <datalist id="plan-timezones">
              {zones.map((zone) => (
                <option key={zone} value={zone} />
              ))}
            </datalist>
          </Field>
        </div>
        {cronWords && !cronError ? (
          <p className="hint" data-testid="cron-in-words">
            {cronWords}
          </p>
        ) : null}
        {readOnly ? null : (
          <div className="cron-presets" role="group" aria-label="Schedule presets">
            {CRON_PRESETS.map((preset) => (
              <button key={preset.label} type="button" className="small" onClick={() => change({ cron: preset.cron })}>
                {preset.label}
              </button>
            ))}
          </div>
        )}
        <div className="fire-times" aria-live="polite">
          {preview.fireTimes.length && !preview.cronError && !preview.timezoneError ? (
            <>
              <span className="field-title">Next runs</span>
              <ol aria-label="Next runs">
                {preview.fireTimes.map((time) => (
                  <li key={time}>{inZone(time, form.timezone.trim() || "UTC")}</li>
                ))}
              </ol>
            </>
          ) : preview.neverFires && !preview.cronError && !preview.timezoneError ? (
            <span className="field-error" role="alert">
              This schedule never fires: no date from now on matches it (check the day of the month and the month).
            </span>
          ) : preview.pending ? (
            <span className="hint">Working out the next runs…</span>
          ) : null}
          {preview.otherError ? <span className="hint">{preview.otherError}</span> : null}
        </div>
        <InputField
          id="plan-verify-cron"
          label="Verify schedule (cron, optional)"
          hint="When to check the newest backups by reading them back; empty: never"
          error={errorUnder(errors, "verify_cron")}
          value={form.verifyCron}
          onValue={(verifyCron) => change({ verifyCron })}
          readOnly={readOnly}
        />
        <InputField
          id="plan-grace"
          label="Missed-run grace (seconds)"
          hint="A run missed by less than this while the scheduler was down still fires once"
          error={errorUnder(errors, "missed_run_grace_seconds")}
          value={form.missedRunGraceSeconds}
          onValue={(missedRunGraceSeconds) => change({ missedRunGraceSeconds })}
          readOnly={readOnly}
          type="number"
          min={0}
        />
      </fieldset>

      <TargetsPicker
        hostId={form.hostId}
        value={form.targets}
        onChange={(next) => change({ targets: next })}
        readOnly={readOnly}
        errors={errors}
      />

      <ConsistencyFields
        form={form}
        onChange={change}
        readOnly={readOnly}
        adminOnlyReadOnly={adminOnlyReadOnly}
        errors={errors}
        containers={(containers.data ?? []).map((c) => c.name)}
      />

      <RetentionFields form={form} onChange={change} readOnly={readOnly} errors={errors} />
      <RetentionPreviewPanel planId={planId} retention={retentionFromForm(form)} />

      <fieldset className="plan-section">
        <legend>Copies</legend>
        <div className="field">
          <span className="field-title">Upload targets</span>
          {errorUnder(errors, "upload_targets") ? (
            <div className="field-error" role="alert">
              {errorUnder(errors, "upload_targets")}
            </div>
          ) : null}
          {!mayReadSettings ? (
            <p className="hint">{form.uploadTargets.length ? form.uploadTargets.join(", ") : "No upload targets."}</p>
          ) : settings.isPending ? (
            <p className="hint">Loading the S3 targets…</p>
          ) : targets.length === 0 && form.uploadTargets.length === 0 ? (
            <p className="hint">
              No S3 targets yet: backups stay on the host only.{" "}
              {can("POST", "/settings/targets") ? (
                <>
                  <Link to="/settings">Add an S3 target in Settings</Link> to copy them off the host.
                </>
              ) : (
                "An admin can add one in Settings to copy them off the host."
              )}
            </p>
          ) : (
            <ul className="check-list">
              {[...targets.map((t) => t.target_id), ...form.uploadTargets.filter((id) => !targets.some((t) => t.target_id === id))].map(
                (id) => {
                  const target = targets.find((t) => t.target_id === id);
                  return (
                    <li key={id}>
                      <input
                        type="checkbox"
                        id={`upload-${id}`}
                        checked={form.uploadTargets.includes(id)}
                        disabled={readOnly}
                        onChange={(event) =>
                          change({
                            uploadTargets: event.target.checked
                              ? [...form.uploadTargets, id]
                              : form.uploadTargets.filter((t) => t !== id),
                          })
                        }
                      />{" "}
                      <label htmlFor={`upload-${id}`}>{id}</label>{" "}
                      <span className="hint">{target ? `${target.bucket} at ${target.endpoint}` : "no longer in the settings"}</span>
                    </li>
                  );
                },
              )}
            </ul>
          )}
        </div>
        <div className="row">
          <Field
            label="Local copies"
            htmlFor="plan-local-keep"
            hint="What stays on the host once an archive's remote copies are verified; an archive without one always stays"
            error={errorUnder(errors, "local_copies.keep") ?? errors.local_copies}
          >
            <select
              id="plan-local-keep"
              value={form.localKeep}
              disabled={readOnly}
              onChange={(event) => change({ localKeep: event.target.value as PlanForm["localKeep"] })}
            >
              <option value="all">keep every archive on the host</option>
              <option value="last">keep the newest on the host</option>
              <option value="none">remove from the host once copied</option>
            </select>
          </Field>
          {form.localKeep === "last" ? (
            <InputField
              id="plan-local-last"
              label="Newest archives kept on the host"
              error={errorUnder(errors, "local_copies.last")}
              value={form.localLast}
              onValue={(localLast) => change({ localLast })}
              readOnly={readOnly}
              type="number"
              min={1}
            />
          ) : null}
        </div>
      </fieldset>

      <Check
        id="plan-enabled"
        label="Enabled"
        hint="A disabled plan is kept but never fires"
        checked={form.enabled}
        readOnly={readOnly}
        onChange={(enabled) => change({ enabled })}
        error={errorUnder(errors, "enabled")}
      />

      <div className="row form-actions">
        {mayWrite ? (
          <button type="submit" className="primary" disabled={save.isPending}>
            {save.isPending ? "Saving…" : "Save plan"}
          </button>
        ) : null}
        <Link to="/plans">Back to plans</Link>
        <RefusalSummary
          places={refusal.places}
          general={general}
          show={!save.isPending && (Object.keys(errors).length > 0 || !!general)}
        />
      </div>
    </form>
  );
}
