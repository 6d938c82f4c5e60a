// S3 targets: where uploaders keep copies off the host. Keys are write-only.
import { useState } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, type Schemas } from "../../api/client";
import { unwrap } from "../../api/errors";
import { useCan } from "../../auth/session";
import { formatBytes } from "../../lib/format";
import { Card, EmptyState, ErrorBanner, Field, StatusBadge } from "../ui";
import { targetCreateBody, targetForm, targetUpdateBody, type TargetForm } from "./bodies";
import { CheckResult, SETTINGS_KEY, errorFor, formErrors, generalError, secretHint } from "./common";
import { ConfirmInline } from "../ConfirmInline";

type Target = Schemas["S3TargetOut"];
const FIELDS = ["target_id", "endpoint", "secure", "region", "bucket", "prefix", "part_size_bytes", "verify_full_read", "access_key", "secret_key"];

export function TargetsSection({ targets }: { targets: Target[] }) {
  const can = useCan();
  const [editing, setEditing] = useState<Target | "new" | null>(null);
  return (
    <Card title="S3 targets">
      <p className="muted">Uploaders copy archives to these buckets; plans choose them as upload targets.</p>
      {targets.length === 0 ? (
        <EmptyState>
          No S3 target yet.{" "}
          {can("POST", "/settings/targets") ? "Add one to keep copies of your backups off the host." : "An admin can add one."}
        </EmptyState>
      ) : (
        <div className="table-wrap">
          <table aria-label="S3 targets">
            <thead>
              <tr>
                <th>Id</th>
                <th>Endpoint</th>
                <th>Bucket</th>
                <th>Region</th>
                <th>Prefix</th>
                <th>Keys</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {targets.map((t) => (
                <TargetRow key={t.target_id} target={t} onEdit={() => setEditing(t)} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      {editing ? (
        <TargetEditor
          key={editing === "new" ? "new" : editing.target_id}
          target={editing === "new" ? undefined : editing}
          onDone={() => setEditing(null)}
        />
      ) : can("POST", "/settings/targets") ? (
        <button type="button" onClick={() => setEditing("new")}>
          Add a target
        </button>
      ) : null}
    </Card>
  );
}

function TargetRow({ target, onEdit }: { target: Target; onEdit: () => void }) {
  const can = useCan();
  const client = useQueryClient();
  const test = useMutation({
    mutationFn: async () =>
      unwrap(await api.POST("/settings/targets/{target_id}/test", { params: { path: { target_id: target.target_id } } })),
  });
  const remove = useMutation({
    mutationFn: async () =>
      unwrap(await api.DELETE("/settings/targets/{target_id}", { params: { path: { target_id: target.target_id } } })),
    onSuccess: () => client.invalidateQueries({ queryKey: SETTINGS_KEY }),
  });
  return (
    <>
      <tr>
        <td>
          <strong>{target.target_id}</strong>
        </td>
        <td>
          {target.secure ? "https" : "http"}://{target.endpoint}
        </td>
        <td>{target.bucket}</td>
        <td>{target.region ?? "—"}</td>
        <td>{target.prefix || "—"}</td>
        <td>
          <StatusBadge status={target.access_key.set && target.secret_key.set ? "succeeded" : "failed"} label={target.access_key.set && target.secret_key.set ? "stored" : "missing"} />
        </td>
        <td className="actions">
          {can("POST", "/settings/targets/{target_id}/test") ? (
            <button type="button" className="small" disabled={test.isPending} onClick={() => test.mutate()}>
              Test
            </button>
          ) : null}
          {can("PUT", "/settings/targets/{target_id}") ? (
            <button type="button" className="small" onClick={onEdit}>
              Edit
            </button>
          ) : null}
          {can("DELETE", "/settings/targets/{target_id}") ? (
            <ConfirmInline
              label="Delete"
              className="small danger"
              question={`Remove the S3 target ${target.target_id}? Plans that upload to it will fail their upload.`}
              groupLabel={`Delete S3 target ${target.target_id}?`}
              confirmLabel="Yes, remove it"
              keepLabel="Keep it"
              busy={remove.isPending}
              onConfirm={() => remove.mutate()}
            />
          ) : null}
        </td>
      </tr>
      {test.isPending || test.data || test.error || remove.error ? (
        <tr>
          <td colSpan={7}>
            <CheckResult result={test.data} error={test.error} pending={test.isPending} service="uploader" />
            <ErrorBanner error={remove.error} />
          </td>
        </tr>
      ) : null}
    </>
  );
}

function TargetEditor({ target, onDone }: { target?: Target; onDone: () => void }) {
  const client = useQueryClient();
  const [form, setForm] = useState<TargetForm>(() => targetForm(target));
  const set = <K extends keyof TargetForm>(key: K, value: TargetForm[K]) => setForm((f) => ({ ...f, [key]: value }));
  const save = useMutation({
    mutationFn: async () =>
      target
        ? unwrap(
            await api.PUT("/settings/targets/{target_id}", {
              params: { path: { target_id: target.target_id } },
              body: targetUpdateBody(form),
            }),
          )
        : unwrap(await api.POST("/settings/targets", { body: targetCreateBody(form) })),
    onSuccess: async () => {
      await client.invalidateQueries({ queryKey: SETTINGS_KEY });
      onDone();
    },
  });
  const errors = formErrors(save.error, FIELDS);
  const err = (field: string) => errorFor(errors, field);
  return (
    <form
      className="form settings-form"
      aria-label={target ? `Edit S3 target ${target.target_id}` : "New S3 target"}
      onSubmit={(e) => {
        e.preventDefault();
        save.mutate();
      }}
    >
      <h3>{target ? `Edit ${target.target_id}` : "New S3 target"}</h3>
      <ErrorBanner error={generalError(errors, FIELDS)} />
      <Field label="Target id" htmlFor="target-id" error={err("target_id")} hint="Letters, digits, - and _; plans name the target by it.">
        <input id="target-id" value={form.target_id} readOnly={!!target} onChange={(e) => set("target_id", e.target.value)} required />
      </Field>
      <Field label="Endpoint" htmlFor="target-endpoint" error={err("endpoint")} hint="host[:port], without https://">
        <input id="target-endpoint" value={form.endpoint} onChange={(e) => set("endpoint", e.target.value)} placeholder="s3.eu-central-1.amazonaws.com" required />
      </Field>
      <Field label="Use HTTPS" htmlFor="target-secure" error={err("secure")}>
        <input id="target-secure" type="checkbox" checked={form.secure} onChange={(e) => set("secure", e.target.checked)} />
      </Field>
      <Field label="Bucket" htmlFor="target-bucket" error={err("bucket")}>
        <input id="target-bucket" value={form.bucket} onChange={(e) => set("bucket", e.target.value)} required />
      </Field>
      <Field label="Region" htmlFor="target-region" error={err("region")} hint="Optional">
        <input id="target-region" value={form.region} onChange={(e) => set("region", e.target.value)} />
      </Field>
      <Field label="Prefix" htmlFor="target-prefix" error={err("prefix")} hint="Key prefix of every archive, e.g. dockback/">
        <input id="target-prefix" value={form.prefix} onChange={(e) => set("prefix", e.target.value)} />
      </Field>
      <Field
        label="Part size (MiB)"
        htmlFor="target-part-size"
        error={err("part_size_bytes")}
        hint={`Multipart upload part size, 5 MiB to 5 GiB (now ${formatBytes(Number(form.part_size_mib) * 1024 * 1024)})`}
      >
        <input id="target-part-size" type="number" min={5} value={form.part_size_mib} onChange={(e) => set("part_size_mib", e.target.value)} />
      </Field>
      <Field label="Read each upload back in full to verify it" htmlFor="target-full-read" error={err("verify_full_read")}>
        <input id="target-full-read" type="checkbox" checked={form.verify_full_read} onChange={(e) => set("verify_full_read", e.target.checked)} />
      </Field>
      <Field label="Access key" htmlFor="target-access-key" error={err("access_key")} hint={target ? secretHint(target.access_key.set) : undefined}>
        <input
          id="target-access-key"
          type="password"
          autoComplete="off"
          value={form.access_key}
          onChange={(e) => set("access_key", e.target.value)}
          placeholder={target?.access_key.set ? "stored — leave empty to keep" : ""}
          required={!target}
        />
      </Field>
      <Field label="Secret key" htmlFor="target-secret-key" error={err("secret_key")} hint={target ? secretHint(target.secret_key.set) : undefined}>
        <input
          id="target-secret-key"
          type="password"
          autoComplete="new-password"
          value={form.secret_key}
          onChange={(e) => set("secret_key", e.target.value)}
          placeholder={target?.secret_key.set ? "stored — leave empty to keep" : ""}
          required={!target}
        />
      </Field>
      <div className="row">
        <button type="submit" className="primary" disabled={save.isPending}>
          {save.isPending ? "Saving…" : "Save target"}
        </button>
        <button type="button" onClick={onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}
