// S3 targets: where uploaders keep copies off the host. Keys are write-only.
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { api, type Schemas } from "../../api/client";
import { unwrap } from "../../api/errors";
import { useCan } from "../../auth/session";
import { formatBytes } from "../../lib/format";
import { Field, StatusBadge } from "../ui";
import { S3_PROVIDERS, targetCreateBody, targetErrors, targetForm, targetUpdateBody, withProvider } from "./bodies";
import { secretHint, useSettingsForm } from "./common";
import { EntryEditor, EntryListSection, EntryRow } from "./EntrySection";

type Target = Schemas["S3TargetOut"];
const FIELDS = ["target_id", "endpoint", "secure", "region", "bucket", "prefix", "part_size_bytes", "verify_full_read", "access_key", "secret_key"];
const ROUTES = { collection: "/settings/targets", entry: "/settings/targets/{target_id}" };

export function TargetsSection({ targets }: { targets: Target[] }) {
  const can = useCan();
  // A test sends the target's keys to the host it runs on: with several hosts, the admin may say which.
  const hosts = useQuery({
    queryKey: ["resources", "hosts"],
    queryFn: async () => unwrap(await api.GET("/resources/hosts")),
    enabled: can("POST", "/settings/targets/{target_id}/test") && can("GET", "/resources/hosts"),
  });
  const [testFrom, setTestFrom] = useState("");
  const several = (hosts.data?.length ?? 0) > 1;
  return (
    <EntryListSection
      title="S3 targets"
      intro={
        <>
          <p className="muted">
            Uploaders copy archives to these buckets; plans choose them as upload targets. A host gets the keys of the targets its plans
            use, and no other.
          </p>
          {several && targets.length > 0 ? (
            <Field
              label="Test from host"
              htmlFor="target-test-host"
              hint="A test sends the target's keys to that host's uploader. Default: a host whose plans use the target."
            >
              <select id="target-test-host" value={testFrom} onChange={(e) => setTestFrom(e.target.value)}>
                <option value="">a host whose plans use it</option>
                {hosts.data?.map((h) => (
                  <option key={h.host_id} value={h.host_id}>
                    {h.host_id}
                  </option>
                ))}
              </select>
            </Field>
          ) : null}
        </>
      }
      routes={ROUTES}
      entries={targets}
      idOf={(t) => t.target_id}
      empty="No S3 target yet."
      emptyAction="Add one to keep copies of your backups off the host."
      headers={["Id", "Endpoint", "Bucket", "Region", "Prefix", "Keys"]}
      addLabel="Add a target"
      row={(t, onEdit) => <TargetRow target={t} testFrom={testFrom} onEdit={onEdit} />}
      editor={(t, onDone) => <TargetEditor target={t} onDone={onDone} />}
    />
  );
}

function TargetRow({ target, testFrom, onEdit }: { target: Target; testFrom: string; onEdit: () => void }) {
  const path = { params: { path: { target_id: target.target_id } } };
  const testParams = { params: { path: { target_id: target.target_id }, query: testFrom ? { host_id: testFrom } : {} } };
  const keysStored = target.access_key.set && target.secret_key.set;
  return (
    <EntryRow
      routes={ROUTES}
      cells={[
        <td key="id">
          <strong>{target.target_id}</strong>
        </td>,
        <td key="endpoint">
          {target.secure ? "https" : "http"}://{target.endpoint}
        </td>,
        <td key="bucket">{target.bucket}</td>,
        <td key="region">{target.region ?? "—"}</td>,
        <td key="prefix">{target.prefix || "—"}</td>,
        <td key="keys">
          <StatusBadge status={keysStored ? "succeeded" : "failed"} label={keysStored ? "stored" : "missing"} />
        </td>,
      ]}
      test={async () => unwrap(await api.POST("/settings/targets/{target_id}/test", testParams))}
      remove={async () => unwrap(await api.DELETE("/settings/targets/{target_id}", path))}
      service="uploader"
      removeQuestion={`Remove the S3 target ${target.target_id}? Plans that upload to it will fail their upload.`}
      removeGroupLabel={`Delete S3 target ${target.target_id}?`}
      onEdit={onEdit}
    />
  );
}

function TargetEditor({ target, onDone }: { target?: Target; onDone: () => void }) {
  const editor = useSettingsForm({ initial: () => targetForm(target), check: targetErrors, formKeyOf: { part_size_bytes: "part_size_mib" } });
  const { form, set } = editor;
  return (
    <EntryEditor
      label={target ? `Edit S3 target ${target.target_id}` : "New S3 target"}
      heading={target ? `Edit ${target.target_id}` : "New S3 target"}
      fields={FIELDS}
      save={async () =>
        target
          ? unwrap(
              await api.PUT("/settings/targets/{target_id}", {
                params: { path: { target_id: target.target_id } },
                body: targetUpdateBody(form),
              }),
            )
          : unwrap(await api.POST("/settings/targets", { body: targetCreateBody(form) }))
      }
      saveLabel="Save target"
      onDone={onDone}
      guard={editor}
      test={{
        service: "uploader",
        run: async () =>
          target
            ? unwrap(
                await api.POST("/settings/targets/{target_id}/test", {
                  params: { path: { target_id: target.target_id } },
                  body: targetUpdateBody(form),
                }),
              )
            : unwrap(await api.POST("/settings/targets/test", { body: targetCreateBody(form) })),
      }}
    >
      {(err) => (
        <>
          <Field label="Provider" htmlFor="target-provider" hint="Fills in the endpoint, region and HTTPS; replace any <...> part.">
            <select
              id="target-provider"
              value=""
              onChange={(e) => {
                const next = withProvider(form, e.target.value);
                set("endpoint", next.endpoint);
                set("region", next.region);
                set("secure", next.secure);
              }}
            >
              <option value="">Choose to fill in…</option>
              {S3_PROVIDERS.map((p) => (
                <option key={p.name} value={p.name}>
                  {p.name}
                </option>
              ))}
            </select>
          </Field>
          <Field label="Target id" htmlFor="target-id" error={err("target_id")} hint="Letters, digits, - and _; plans name the target by it.">
            <input id="target-id" value={form.target_id} readOnly={!!target} onChange={(e) => set("target_id", e.target.value)} required />
          </Field>
          <Field label="Endpoint" htmlFor="target-endpoint" error={err("endpoint")} hint="host[:port], without https://; a new endpoint (or https switch) needs both keys again">
            <input
              id="target-endpoint"
              value={form.endpoint}
              onChange={(e) => set("endpoint", e.target.value)}
              placeholder="s3.eu-central-1.amazonaws.com"
              required
            />
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
          <SecretKeyField
            id="target-access-key"
            label="Access key"
            autoComplete="off"
            stored={target?.access_key.set}
            isNew={!target}
            value={form.access_key}
            error={err("access_key")}
            onChange={(v) => set("access_key", v)}
          />
          <SecretKeyField
            id="target-secret-key"
            label="Secret key"
            autoComplete="new-password"
            stored={target?.secret_key.set}
            isNew={!target}
            value={form.secret_key}
            error={err("secret_key")}
            onChange={(v) => set("secret_key", v)}
          />
        </>
      )}
    </EntryEditor>
  );
}

/** A write-only key: required for a new target, left empty to keep the stored one. */
function SecretKeyField(props: {
  id: string;
  label: string;
  autoComplete: string;
  stored: boolean | undefined;
  isNew: boolean;
  value: string;
  error: string | null;
  onChange: (value: string) => void;
}) {
  return (
    <Field label={props.label} htmlFor={props.id} error={props.error} hint={props.isNew ? undefined : secretHint(props.stored)}>
      <input
        id={props.id}
        type="password"
        autoComplete={props.autoComplete}
        value={props.value}
        onChange={(e) => props.onChange(e.target.value)}
        placeholder={props.stored ? "stored — leave empty to keep" : ""}
        required={props.isNew}
      />
    </Field>
  );
}
