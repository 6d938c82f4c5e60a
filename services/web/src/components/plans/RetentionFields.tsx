// How long a plan keeps its backups, with a dry run of the policy on the plan's archives.
import { useQuery } from "@tanstack/react-query";
import { api, type Schemas } from "../../api/client";
import { unwrap } from "../../api/errors";
import { useCan } from "../../auth/session";
import { formatBytes, formatDateTime } from "../../lib/format";
import { Field, Notice } from "../ui";
import { errorUnder, RETENTION_COUNTS, UNIT_SECONDS, type PlanForm, type RetentionCount, type WithinUnit } from "./planForm";
import { useDebouncedValue } from "./schedulePreview";
import { DataTable } from "../DataTable";
import { InputField } from "../InputField";

export function RetentionFields({
  form,
  onChange,
  readOnly,
  errors,
}: {
  form: PlanForm;
  onChange: (patch: Partial<PlanForm>) => void;
  readOnly: boolean;
  errors: Record<string, string>;
}) {
  // The text as typed: an emptied field stays empty (a save names it) instead of taking a default.
  const setCount = (key: RetentionCount, text: string) => onChange({ retention: { ...form.retention, [key]: text } });
  return (
    <fieldset className="plan-section">
      <legend>Retention</legend>
      <p className="hint">
        A backup is kept when any rule keeps it; the newest verified backup is never deleted.
      </p>
      {errors.retention ? (
        <div className="field-error" role="alert">
          {errors.retention}
        </div>
      ) : null}
      <div className="retention-grid">
        {RETENTION_COUNTS.map(({ key, label, hint, min, max }) => (
          <InputField
            key={key}
            id={`retention-${key}`}
            label={label}
            hint={hint}
            error={errorUnder(errors, `retention.${key}`)}
            value={form.retention[key]}
            onValue={(count) => setCount(key, count)}
            readOnly={readOnly}
            type="number"
            min={min}
            max={max}
          />
        ))}
        <Field
          label="Keep within"
          htmlFor="retention-keep-within"
          hint="Everything younger than this (0: off)"
          error={errorUnder(errors, "retention.keep_within_seconds")}
        >
          <div className="row within-row">
            <input
              id="retention-keep-within"
              type="number"
              min={0}
              value={form.keepWithin}
              readOnly={readOnly}
              onChange={(event) => onChange({ keepWithin: event.target.value })}
            />
            <select
              aria-label="Keep within unit"
              value={form.keepWithinUnit}
              disabled={readOnly}
              onChange={(event) => onChange({ keepWithinUnit: event.target.value as WithinUnit })}
            >
              {(Object.keys(UNIT_SECONDS) as WithinUnit[]).map((unit) => (
                <option key={unit} value={unit}>
                  {unit}
                </option>
              ))}
            </select>
          </div>
        </Field>
      </div>
    </fieldset>
  );
}

/** What the policy being edited would keep and delete now, for a plan that exists. */
export function RetentionPreviewPanel({
  planId,
  retention,
}: {
  planId: string | null;
  /** Null while a field of the policy holds no number. */
  retention: Schemas["RetentionPolicyIn"] | null;
}) {
  const can = useCan();
  const policy = JSON.parse(useDebouncedValue(JSON.stringify(retention), 500)) as Schemas["RetentionPolicyIn"] | null;
  const allowed = planId !== null && can("POST", "/artifacts/retention-preview");
  const preview = useQuery({
    queryKey: ["retention-preview", planId, policy],
    queryFn: async () =>
      unwrap(await api.POST("/artifacts/retention-preview", { body: { plan_id: planId!, retention: policy! } })),
    enabled: allowed && policy !== null,
    retry: false,
  });

  if (planId === null) {
    return <Notice>The preview of what this policy keeps and deletes appears once the plan has backups.</Notice>;
  }
  if (!allowed) return null;
  if (policy === null) return <p className="hint">The preview appears once every retention field holds a number.</p>;
  if (preview.isPending) return <p className="hint">Working out what the policy keeps…</p>;
  if (preview.isError) {
    return (
      <div className="banner error" role="alert">
        Could not preview the policy: {preview.error.message}
      </div>
    );
  }
  const result = preview.data;
  const kept = result.scopes.reduce((sum, scope) => sum + scope.keep.length, 0);
  if (result.scopes.length === 0) {
    return <Notice>This plan has no backups yet: the preview appears once it has some.</Notice>;
  }
  return (
    <div className="retention-preview" aria-live="polite">
      <h3>Preview: {result.policy_summary}</h3>
      <p>
        Keeps {kept} backup{kept === 1 ? "" : "s"}, deletes {result.delete_count} (
        {formatBytes(result.delete_bytes)}), counting days in {result.timezone}.
      </p>
      <DataTable headers={["Resource", "Part", "Keeps", "Deletes"]}>
        {result.scopes.map((scope) => (
          <tr key={`${scope.resource.kind}/${scope.resource.name}/${scope.role}`}>
            <td>
              {scope.resource.kind} {scope.resource.name}
            </td>
            <td>{scope.role}</td>
            <td>{scope.keep.length}</td>
            <td>
              {scope.delete.length === 0 ? (
                "nothing"
              ) : (
                <ul className="plain-list">
                  {scope.delete.map((verdict) => (
                    <li key={verdict.artifact_id}>
                      {formatDateTime(verdict.created_at)}, {formatBytes(verdict.size_bytes)}
                      {verdict.reasons.length ? <span className="hint"> ({verdict.reasons.join("; ")})</span> : null}
                    </li>
                  ))}
                </ul>
              )}
            </td>
          </tr>
        ))}
      </DataTable>
    </div>
  );
}
