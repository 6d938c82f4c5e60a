// Defaults: compression of new plans, and where links in alerts point.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, type Schemas } from "../../api/client";
import { unwrap } from "../../api/errors";
import { useCan } from "../../auth/session";
import { Card, ErrorBanner, Field, Notice } from "../ui";
import { SETTINGS_KEY, SaveRefusal, errorFor, generalError, useSettingsForm } from "./common";

const FIELDS = ["default_compression", "ui_base_url"];

export function DefaultsSection({ defaults }: { defaults: Schemas["DefaultsOut"] }) {
  const can = useCan();
  const client = useQueryClient();
  const editable = can("PUT", "/settings/defaults");
  const editor = useSettingsForm({
    initial: () => ({ default_compression: defaults.default_compression, ui_base_url: defaults.ui_base_url ?? "" }),
  });
  const { form, set } = editor;
  const save = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.PUT("/settings/defaults", {
          body: {
            default_compression: form.default_compression as Schemas["DefaultsUpdate"]["default_compression"],
            ui_base_url: form.ui_base_url.trim() || null,
          },
        }),
      ),
    onSuccess: async () => {
      editor.saved();
      await client.invalidateQueries({ queryKey: SETTINGS_KEY });
    },
    onError: editor.refused,
  });
  const errors = editor.errorsOf(save.error, FIELDS);
  return (
    <Card title="Defaults">
      <form
        className="form settings-form"
        aria-label="Defaults"
        ref={editor.formRef}
        noValidate
        onSubmit={editor.submit(() => save.mutate())}
      >
        <fieldset disabled={!editable} className="plain-fieldset">
          <ErrorBanner error={generalError(errors, FIELDS)} />
          {save.isSuccess ? <Notice kind="success">Saved.</Notice> : null}
          <Field label="Default compression" htmlFor="defaults-compression" error={errorFor(errors, "default_compression")} hint="Used by new plans">
            <select id="defaults-compression" value={form.default_compression} onChange={(e) => set("default_compression", e.target.value)}>
              <option value="zstd">zstd (fast, small)</option>
              <option value="gzip">gzip</option>
              <option value="none">none</option>
            </select>
          </Field>
          <Field
            label="Web UI address in alerts"
            htmlFor="defaults-base-url"
            error={errorFor(errors, "ui_base_url")}
            hint="Where links in alerts point; empty: the gateway's DOCKBACK_BASE_URL"
          >
            <input id="defaults-base-url" type="url" value={form.ui_base_url} onChange={(e) => set("ui_base_url", e.target.value)} placeholder="https://dockback.example.net" />
          </Field>
          {editable ? (
            <div className="row">
              <button type="submit" className="primary" disabled={save.isPending}>
                {save.isPending ? "Saving…" : "Save defaults"}
              </button>
              <SaveRefusal errors={errors} known={FIELDS} places={editor.places} pending={save.isPending} />
            </div>
          ) : null}
        </fieldset>
      </form>
    </Card>
  );
}
