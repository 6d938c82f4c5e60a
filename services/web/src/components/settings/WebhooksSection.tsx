// Webhooks: a JSON (or Slack) POST per alert. The signing secret is write-only.
import { useState } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, type Schemas } from "../../api/client";
import { unwrap } from "../../api/errors";
import { useCan } from "../../auth/session";
import { Card, EmptyState, ErrorBanner, Field, StatusBadge } from "../ui";
import { webhookCreateBody, webhookForm, webhookUpdateBody, type WebhookForm } from "./bodies";
import { CheckResult, SETTINGS_KEY, errorFor, formErrors, generalError, secretHint } from "./common";
import { ConfirmInline } from "../ConfirmInline";

type Webhook = Schemas["WebhookOut"];
const FIELDS = ["webhook_id", "url", "slack_format", "succeeded_digest", "signing_secret"];

export function WebhooksSection({ webhooks }: { webhooks: Webhook[] }) {
  const can = useCan();
  const [editing, setEditing] = useState<Webhook | "new" | null>(null);
  return (
    <Card title="Webhooks">
      {webhooks.length === 0 ? (
        <EmptyState>
          No webhook yet. {can("POST", "/settings/webhooks") ? "Add one to get alerts in chat or another system." : "An admin can add one."}
        </EmptyState>
      ) : (
        <div className="table-wrap">
          <table aria-label="Webhooks">
            <thead>
              <tr>
                <th>Id</th>
                <th>URL</th>
                <th>Format</th>
                <th>Signed</th>
                <th>Digest</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {webhooks.map((w) => (
                <WebhookRow key={w.webhook_id} webhook={w} onEdit={() => setEditing(w)} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      {editing ? (
        <WebhookEditor
          key={editing === "new" ? "new" : editing.webhook_id}
          webhook={editing === "new" ? undefined : editing}
          onDone={() => setEditing(null)}
        />
      ) : can("POST", "/settings/webhooks") ? (
        <button type="button" onClick={() => setEditing("new")}>
          Add a webhook
        </button>
      ) : null}
    </Card>
  );
}

function WebhookRow({ webhook, onEdit }: { webhook: Webhook; onEdit: () => void }) {
  const can = useCan();
  const client = useQueryClient();
  const path = { params: { path: { webhook_id: webhook.webhook_id } } };
  const test = useMutation({ mutationFn: async () => unwrap(await api.POST("/settings/webhooks/{webhook_id}/test", path)) });
  const remove = useMutation({
    mutationFn: async () => unwrap(await api.DELETE("/settings/webhooks/{webhook_id}", path)),
    onSuccess: () => client.invalidateQueries({ queryKey: SETTINGS_KEY }),
  });
  return (
    <>
      <tr>
        <td>
          <strong>{webhook.webhook_id}</strong>
        </td>
        <td className="wrap">{webhook.url}</td>
        <td>{webhook.slack_format ? "Slack" : "DockBack JSON"}</td>
        <td>
          <StatusBadge status={webhook.signing_secret.set ? "succeeded" : "disabled"} label={webhook.signing_secret.set ? "yes" : "no"} />
        </td>
        <td>{webhook.succeeded_digest ? "daily" : "no"}</td>
        <td className="actions">
          {can("POST", "/settings/webhooks/{webhook_id}/test") ? (
            <button type="button" className="small" disabled={test.isPending} onClick={() => test.mutate()}>
              Test
            </button>
          ) : null}
          {can("PUT", "/settings/webhooks/{webhook_id}") ? (
            <button type="button" className="small" onClick={onEdit}>
              Edit
            </button>
          ) : null}
          {can("DELETE", "/settings/webhooks/{webhook_id}") ? (
            <ConfirmInline
              label="Delete"
              className="small danger"
              question={`Remove the webhook ${webhook.webhook_id}?`}
              groupLabel={`Delete webhook ${webhook.webhook_id}?`}
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
          <td colSpan={6}>
            <CheckResult result={test.data} error={test.error} pending={test.isPending} service="notifier" />
            <ErrorBanner error={remove.error} />
          </td>
        </tr>
      ) : null}
    </>
  );
}

function WebhookEditor({ webhook, onDone }: { webhook?: Webhook; onDone: () => void }) {
  const client = useQueryClient();
  const [form, setForm] = useState<WebhookForm>(() => webhookForm(webhook));
  const set = <K extends keyof WebhookForm>(key: K, value: WebhookForm[K]) => setForm((f) => ({ ...f, [key]: value }));
  const save = useMutation({
    mutationFn: async () =>
      webhook
        ? unwrap(
            await api.PUT("/settings/webhooks/{webhook_id}", {
              params: { path: { webhook_id: webhook.webhook_id } },
              body: webhookUpdateBody(form),
            }),
          )
        : unwrap(await api.POST("/settings/webhooks", { body: webhookCreateBody(form) })),
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
      aria-label={webhook ? `Edit webhook ${webhook.webhook_id}` : "New webhook"}
      onSubmit={(e) => {
        e.preventDefault();
        save.mutate();
      }}
    >
      <h3>{webhook ? `Edit ${webhook.webhook_id}` : "New webhook"}</h3>
      <ErrorBanner error={generalError(errors, FIELDS)} />
      <Field label="Webhook id" htmlFor="webhook-id" error={err("webhook_id")} hint="Letters, digits, - and _">
        <input id="webhook-id" value={form.webhook_id} readOnly={!!webhook} onChange={(e) => set("webhook_id", e.target.value)} required />
      </Field>
      <Field label="URL" htmlFor="webhook-url" error={err("url")}>
        <input id="webhook-url" type="url" value={form.url} onChange={(e) => set("url", e.target.value)} placeholder="https://hooks.example.net/dockback" required />
      </Field>
      <Field label="Format" htmlFor="webhook-format" error={err("slack_format")}>
        <select id="webhook-format" value={form.slack_format ? "slack" : "dockback"} onChange={(e) => set("slack_format", e.target.value === "slack")}>
          <option value="dockback">DockBack JSON</option>
          <option value="slack">Slack message</option>
        </select>
      </Field>
      <Field
        label="Signing secret"
        htmlFor="webhook-secret"
        error={err("signing_secret")}
        hint={webhook ? secretHint(webhook.signing_secret.set) : "Optional: each POST then carries an HMAC of its body"}
      >
        <input
          id="webhook-secret"
          type="password"
          autoComplete="new-password"
          value={form.signing_secret}
          disabled={form.clear_secret}
          placeholder={webhook?.signing_secret.set ? "stored — leave empty to keep" : ""}
          onChange={(e) => set("signing_secret", e.target.value)}
        />
      </Field>
      {webhook?.signing_secret.set ? (
        <label className="choice">
          <input type="checkbox" checked={form.clear_secret} onChange={(e) => set("clear_secret", e.target.checked)} /> Remove the stored
          signing secret
        </label>
      ) : null}
      <label className="choice">
        <input type="checkbox" checked={form.succeeded_digest} onChange={(e) => set("succeeded_digest", e.target.checked)} /> Also send a daily
        digest of succeeded jobs
      </label>
      <div className="row">
        <button type="submit" className="primary" disabled={save.isPending}>
          {save.isPending ? "Saving…" : "Save webhook"}
        </button>
        <button type="button" onClick={onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}
