// Defaults: compression of new plans, and where links in alerts point.
import { useState } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, type Schemas } from "../../api/client";
import { unwrap } from "../../api/errors";
import { useCan } from "../../auth/session";
import { Card, ErrorBanner, Field, Notice } from "../ui";
import { SETTINGS_KEY, errorFor, formErrors, generalError } from "./common";

const FIELDS = ["default_compression", "ui_base_url"];

export function DefaultsSection({ defaults }: { defaults: Schemas["DefaultsOut"] }) {
  const can = useCan();
  const client = useQueryClient();
  const editable = can("PUT", "/settings/defaults");
  const [compression, setCompression] = useState(defaults.default_compression);
  const [baseUrl, setBaseUrl] = useState(defaults.ui_base_url ?? "");
  const save = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.PUT("/settings/defaults", {
          body: {
            default_compression: compression as Schemas["DefaultsUpdate"]["default_compression"],
            ui_base_url: baseUrl.trim() || null,
          },
        }),
      ),
    onSuccess: () => client.invalidateQueries({ queryKey: SETTINGS_KEY }),
  });
  const errors = formErrors(save.error, FIELDS);
  return (
    <Card title="Defaults">
      <form
        className="form settings-form"
        aria-label="Defaults"
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate();
        }}
      >
        <fieldset disabled={!editable} className="plain-fieldset">
          <ErrorBanner error={generalError(errors, FIELDS)} />
          {save.isSuccess ? <Notice kind="success">Saved.</Notice> : null}
          <Field label="Default compression" htmlFor="defaults-compression" error={errorFor(errors, "default_compression")} hint="Used by new plans">
            <select id="defaults-compression" value={compression} onChange={(e) => setCompression(e.target.value)}>
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
            <input id="defaults-base-url" type="url" value={baseUrl} onChange={(e) => setBaseUrl(e.target.value)} placeholder="https://dockback.example.net" />
          </Field>
          {editable ? (
            <button type="submit" className="primary" disabled={save.isPending}>
              {save.isPending ? "Saving…" : "Save defaults"}
            </button>
          ) : null}
        </fieldset>
      </form>
    </Card>
  );
}
