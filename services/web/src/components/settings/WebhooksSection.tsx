// Webhooks: a JSON (or Slack) POST per alert. The URL (a Slack-style URL is a credential) and the
// signing secret are write-only: the list shows the URL's host only.
import { api, type Schemas } from "../../api/client";
import { unwrap } from "../../api/errors";
import { Field, StatusBadge } from "../ui";
import { webhookCreateBody, webhookForm, webhookUpdateBody } from "./bodies";
import { secretHint, useSettingsForm } from "./common";
import { EntryEditor, EntryListSection, EntryRow } from "./EntrySection";

type Webhook = Schemas["WebhookOut"];
const FIELDS = ["webhook_id", "url", "slack_format", "succeeded_digest", "signing_secret"];
const ROUTES = { collection: "/settings/webhooks", entry: "/settings/webhooks/{webhook_id}" };

export function WebhooksSection({ webhooks }: { webhooks: Webhook[] }) {
  return (
    <EntryListSection
      title="Webhooks"
      routes={ROUTES}
      entries={webhooks}
      idOf={(w) => w.webhook_id}
      empty="No webhook yet."
      emptyAction="Add one to get alerts in chat or another system."
      headers={["Id", "Host", "Format", "Signed", "Digest"]}
      addLabel="Add a webhook"
      row={(w, onEdit) => <WebhookRow webhook={w} onEdit={onEdit} />}
      editor={(w, onDone) => <WebhookEditor webhook={w} onDone={onDone} />}
    />
  );
}

function WebhookRow({ webhook, onEdit }: { webhook: Webhook; onEdit: () => void }) {
  const path = { params: { path: { webhook_id: webhook.webhook_id } } };
  return (
    <EntryRow
      routes={ROUTES}
      cells={[
        <td key="id">
          <strong>{webhook.webhook_id}</strong>
        </td>,
        <td key="url" className="wrap">
          {webhook.url_host}
        </td>,
        <td key="format">{webhook.slack_format ? "Slack" : "DockBack JSON"}</td>,
        <td key="signed">
          <StatusBadge status={webhook.signing_secret.set ? "succeeded" : "disabled"} label={webhook.signing_secret.set ? "yes" : "no"} />
        </td>,
        <td key="digest">{webhook.succeeded_digest ? "daily" : "no"}</td>,
      ]}
      test={async () => unwrap(await api.POST("/settings/webhooks/{webhook_id}/test", path))}
      remove={async () => unwrap(await api.DELETE("/settings/webhooks/{webhook_id}", path))}
      service="notifier"
      removeQuestion={`Remove the webhook ${webhook.webhook_id}?`}
      removeGroupLabel={`Delete webhook ${webhook.webhook_id}?`}
      onEdit={onEdit}
    />
  );
}

function WebhookEditor({ webhook, onDone }: { webhook?: Webhook; onDone: () => void }) {
  const editor = useSettingsForm({ initial: () => webhookForm(webhook) });
  const { form, set } = editor;
  return (
    <EntryEditor
      label={webhook ? `Edit webhook ${webhook.webhook_id}` : "New webhook"}
      heading={webhook ? `Edit ${webhook.webhook_id}` : "New webhook"}
      fields={FIELDS}
      save={async () =>
        webhook
          ? unwrap(
              await api.PUT("/settings/webhooks/{webhook_id}", {
                params: { path: { webhook_id: webhook.webhook_id } },
                body: webhookUpdateBody(form),
              }),
            )
          : unwrap(await api.POST("/settings/webhooks", { body: webhookCreateBody(form) }))
      }
      saveLabel="Save webhook"
      onDone={onDone}
      guard={editor}
      test={{
        service: "notifier",
        run: async () =>
          webhook
            ? unwrap(
                await api.POST("/settings/webhooks/{webhook_id}/test", {
                  params: { path: { webhook_id: webhook.webhook_id } },
                  body: webhookUpdateBody(form),
                }),
              )
            : unwrap(await api.POST("/settings/webhooks/test", { body: webhookCreateBody(form) })),
      }}
    >
      {(err) => (
        <>
          <Field label="Webhook id" htmlFor="webhook-id" error={err("webhook_id")} hint="Letters, digits, - and _">
            <input id="webhook-id" value={form.webhook_id} readOnly={!!webhook} onChange={(e) => set("webhook_id", e.target.value)} required />
          </Field>
          <Field
            label={webhook ? "New URL" : "URL"}
            htmlFor="webhook-url"
            error={err("url")}
            hint={
              webhook
                ? `A URL to ${webhook.url_host} is stored — leave empty to keep it. A new URL drops the stored signing secret unless you enter it again.`
                : "Kept secret: only its host is shown afterwards"
            }
          >
            <input
              id="webhook-url"
              type="url"
              autoComplete="off"
              value={form.url}
              onChange={(e) => set("url", e.target.value)}
              placeholder={webhook ? "stored — leave empty to keep" : "https://hooks.example.net/dockback"}
              required={!webhook}
            />
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
        </>
      )}
    </EntryEditor>
  );
}
