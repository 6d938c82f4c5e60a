// The mail server alerts go through. The password is write-only.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, type Schemas } from "../../api/client";
import { unwrap } from "../../api/errors";
import { useCan } from "../../auth/session";
import { Card, ErrorBanner, Field, Notice } from "../ui";
import { smtpBody, smtpErrors, smtpForm, type SmtpForm } from "./bodies";
import { CheckResult, SETTINGS_KEY, SaveRefusal, errorFor, generalError, secretHint, useSettingsForm } from "./common";
import { ConfirmInline } from "../ConfirmInline";

const FIELDS = ["host", "port", "security", "username", "password", "from_address", "recipients", "succeeded_digest"];

export function SmtpSection({ smtp }: { smtp: Schemas["SmtpOut"] | null }) {
  const can = useCan();
  const client = useQueryClient();
  const editable = can("PUT", "/settings/smtp");
  const editor = useSettingsForm<SmtpForm>({ initial: () => smtpForm(smtp), check: smtpErrors });
  const { form, set } = editor;
  const save = useMutation({
    mutationFn: async () => unwrap(await api.PUT("/settings/smtp", { body: smtpBody(form) })),
    onSuccess: async (saved) => {
      editor.saved(smtpForm(saved)); // the typed password is gone from the form once stored
      await client.invalidateQueries({ queryKey: SETTINGS_KEY });
    },
    onError: editor.refused,
  });
  const remove = useMutation({
    mutationFn: async () => unwrap(await api.DELETE("/settings/smtp")),
    onSuccess: async () => {
      editor.saved(smtpForm(null));
      await client.invalidateQueries({ queryKey: SETTINGS_KEY });
    },
  });
  // The values in the form, not only the saved ones: a password left empty is the stored one
  // (for the saved host and port only, as saving would keep it). Nothing is saved.
  const test = useMutation({
    mutationFn: async () => {
      const problems = smtpErrors(form);
      if (Object.keys(problems).length) throw new Error(Object.values(problems).join("; "));
      return unwrap(await api.POST("/settings/smtp/test", { body: smtpBody(form) }));
    },
  });
  const errors = editor.errorsOf(save.error, FIELDS);
  const err = (field: string) => errorFor(errors, field);

  return (
    <Card title="Email (SMTP)">
      {!smtp ? <p className="muted">No mail server is set: alerts are not sent by email.</p> : null}
      <form
        className="form settings-form"
        aria-label="SMTP settings"
        ref={editor.formRef}
        noValidate
        onSubmit={editor.submit(() => save.mutate())}
      >
        <fieldset disabled={!editable} className="plain-fieldset">
          <ErrorBanner error={generalError(errors, FIELDS)} />
          {save.isSuccess && !errors ? <Notice kind="success">Saved.</Notice> : null}
          <div className="row">
            <Field label="Host" htmlFor="smtp-host" error={err("host")}>
              <input id="smtp-host" value={form.host} onChange={(e) => set("host", e.target.value)} placeholder="smtp.example.net" />
            </Field>
            <Field label="Port" htmlFor="smtp-port" error={err("port")}>
              <input id="smtp-port" type="number" min={1} max={65535} value={form.port} onChange={(e) => set("port", e.target.value)} />
            </Field>
            <Field label="Security" htmlFor="smtp-security" error={err("security")}>
              <select id="smtp-security" value={form.security} onChange={(e) => set("security", e.target.value as SmtpForm["security"])}>
                <option value="starttls">STARTTLS (usually 587)</option>
                <option value="tls">TLS (usually 465)</option>
                <option value="none">None (plain text)</option>
              </select>
            </Field>
          </div>
          <div className="row">
            <Field label="Username" htmlFor="smtp-username" error={err("username")} hint="Optional">
              <input id="smtp-username" autoComplete="off" value={form.username} onChange={(e) => set("username", e.target.value)} />
            </Field>
            <Field
              label="Password"
              htmlFor="smtp-password"
              error={err("password")}
              hint={smtp?.password.set ? `${secretHint(true)}; a new host or port drops it unless entered again` : secretHint(false)}
            >
              <input
                id="smtp-password"
                type="password"
                autoComplete="new-password"
                value={form.password}
                disabled={form.clear_password}
                placeholder={smtp?.password.set ? "stored — leave empty to keep" : ""}
                onChange={(e) => set("password", e.target.value)}
              />
            </Field>
          </div>
          {smtp?.password.set && editable ? (
            <label className="choice">
              <input type="checkbox" checked={form.clear_password} onChange={(e) => set("clear_password", e.target.checked)} /> Remove the
              stored password
            </label>
          ) : null}
          <Field label="From" htmlFor="smtp-from" error={err("from_address")}>
            <input id="smtp-from" type="email" value={form.from_address} onChange={(e) => set("from_address", e.target.value)} placeholder="dockback@example.net" />
          </Field>
          <Field label="To" htmlFor="smtp-to" error={err("recipients")} hint="One or more addresses, separated by commas">
            <input id="smtp-to" value={form.recipients} onChange={(e) => set("recipients", e.target.value)} />
          </Field>
          <label className="choice">
            <input
              id="smtp-digest"
              type="checkbox"
              checked={form.succeeded_digest}
              onChange={(e) => set("succeeded_digest", e.target.checked)}
            />{" "}
            Also send a daily digest of succeeded jobs
          </label>
          {editable ? (
            <div className="row">
              <button type="submit" className="primary" disabled={save.isPending}>
                {save.isPending ? "Saving…" : "Save SMTP settings"}
              </button>
              <SaveRefusal errors={errors} known={FIELDS} places={editor.places} pending={save.isPending} />
              {smtp && can("DELETE", "/settings/smtp") ? (
                <ConfirmInline
                  label="Remove"
                  className="danger"
                  question="Stop sending alerts by email?"
                  groupLabel="Remove the SMTP settings?"
                  confirmLabel="Yes, remove them"
                  keepLabel="Keep them"
                  busy={remove.isPending}
                  onConfirm={() => remove.mutate()}
                />
              ) : null}
            </div>
          ) : null}
        </fieldset>
      </form>
      <ErrorBanner error={remove.error} />
      {editable && can("POST", "/settings/smtp/test") ? (
        <div className="row">
          <button
            type="button"
            disabled={test.isPending}
            onClick={() => test.mutate()}
            title="Through the server in the form, to the addresses in the form; nothing is saved"
          >
            Send test mail
          </button>
          <span className="muted">Uses the values in the form, saved or not.</span>
        </div>
      ) : null}
      <CheckResult result={test.data} error={test.error} pending={test.isPending} service="notifier" />
    </Card>
  );
}
