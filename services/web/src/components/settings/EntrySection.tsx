// What the S3 targets and webhooks sections share: a table of named entries, each with
// Test / Edit / Delete, and one editor at a time below it for a new or an existing entry.
import { Fragment, useState, type ReactNode } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useCan } from "../../auth/session";
import { Card, EmptyState, ErrorBanner } from "../ui";
import { ConfirmInline } from "../ConfirmInline";
import { DataTable } from "../DataTable";
import { CheckResult, SETTINGS_KEY, SaveRefusal, errorFor, generalError, type CheckOut, type SettingsFormGuard } from "./common";

/** The collection's API route, e.g. "/settings/targets"; an entry's routes hang below it. */
interface EntryRoutes {
  collection: string;
  /** The entry route with its placeholder, e.g. "/settings/targets/{target_id}". */
  entry: string;
}

export function EntryListSection<T>({
  title,
  intro,
  routes,
  entries,
  idOf,
  empty,
  emptyAction,
  headers,
  addLabel,
  row,
  editor,
}: {
  title: string;
  intro?: ReactNode;
  routes: EntryRoutes;
  entries: T[];
  idOf: (entry: T) => string;
  /** What the empty list says, e.g. "No webhook yet." */
  empty: string;
  /** What to do next, for a user who may add one. */
  emptyAction: string;
  /** Column headings; an empty one is added for the actions column. */
  headers: string[];
  addLabel: string;
  row: (entry: T, onEdit: () => void) => ReactNode;
  editor: (entry: T | undefined, onDone: () => void) => ReactNode;
}) {
  const can = useCan();
  const [editing, setEditing] = useState<T | "new" | null>(null);
  const done = () => setEditing(null);
  return (
    <Card title={title}>
      {intro}
      {entries.length === 0 ? (
        <EmptyState>
          {empty} {can("POST", routes.collection) ? emptyAction : "An admin can add one."}
        </EmptyState>
      ) : (
        <DataTable label={title} headers={[...headers, ""]}>
          {entries.map((entry) => (
            <Fragment key={idOf(entry)}>{row(entry, () => setEditing(entry))}</Fragment>
          ))}
        </DataTable>
      )}
      {editing ? (
        <Fragment key={editing === "new" ? "new" : idOf(editing)}>{editor(editing === "new" ? undefined : editing, done)}</Fragment>
      ) : can("POST", routes.collection) ? (
        <button type="button" onClick={() => setEditing("new")}>
          {addLabel}
        </button>
      ) : null}
    </Card>
  );
}

/** One entry's table row: its cells, then Test / Edit / Delete as the role allows, then results. */
export function EntryRow({
  routes,
  cells,
  test,
  remove,
  service,
  removeQuestion,
  removeGroupLabel,
  onEdit,
}: {
  routes: EntryRoutes;
  cells: ReactNode[];
  test: () => Promise<CheckOut>;
  remove: () => Promise<unknown>;
  service: "uploader" | "notifier";
  removeQuestion: string;
  removeGroupLabel: string;
  onEdit: () => void;
}) {
  const can = useCan();
  const client = useQueryClient();
  const check = useMutation({ mutationFn: test });
  const removal = useMutation({ mutationFn: remove, onSuccess: () => client.invalidateQueries({ queryKey: SETTINGS_KEY }) });
  return (
    <>
      <tr>
        {cells}
        <td className="actions">
          {can("POST", `${routes.entry}/test`) ? (
            <button type="button" className="small" disabled={check.isPending} onClick={() => check.mutate()}>
              Test
            </button>
          ) : null}
          {can("PUT", routes.entry) ? (
            <button type="button" className="small" onClick={onEdit}>
              Edit
            </button>
          ) : null}
          {can("DELETE", routes.entry) ? (
            <ConfirmInline
              label="Delete"
              className="small danger"
              question={removeQuestion}
              groupLabel={removeGroupLabel}
              confirmLabel="Yes, remove it"
              keepLabel="Keep it"
              busy={removal.isPending}
              onConfirm={() => removal.mutate()}
            />
          ) : null}
        </td>
      </tr>
      {check.isPending || check.data || check.error || removal.error ? (
        <tr>
          <td colSpan={cells.length + 1}>
            <CheckResult result={check.data} error={check.error} pending={check.isPending} service={service} />
            <ErrorBanner error={removal.error} />
          </td>
        </tr>
      ) : null}
    </>
  );
}

/** The form around an entry's fields: saves, refreshes the settings, shows the API's refusal. */
export function EntryEditor({
  label,
  heading,
  fields,
  save,
  saveLabel,
  onDone,
  guard,
  test,
  children,
}: {
  /** The form's accessible name. */
  label: string;
  heading: string;
  /** The fields the form shows; the API's messages for other fields go to the top. */
  fields: readonly string[];
  save: () => Promise<unknown>;
  saveLabel: string;
  onDone: () => void;
  /** The form's state around a save (useSettingsForm). */
  guard: SettingsFormGuard;
  /** Test the values as typed, before saving (nothing is saved). */
  test?: { run: () => Promise<CheckOut>; service: "uploader" | "notifier" };
  children: (errorOf: (field: string) => string | null) => ReactNode;
}) {
  const trying = useMutation({ mutationFn: async () => (test ? test.run() : Promise.reject(new Error("no test"))) });
  const client = useQueryClient();
  const saving = useMutation({
    mutationFn: save,
    onSuccess: async () => {
      guard.saved();
      await client.invalidateQueries({ queryKey: SETTINGS_KEY });
      onDone();
    },
    onError: guard.refused,
  });
  const errors = guard.errorsOf(saving.error, fields);
  return (
    <form
      className="form settings-form"
      aria-label={label}
      ref={guard.formRef}
      noValidate
      onSubmit={guard.submit(() => saving.mutate())}
    >
      <h3>{heading}</h3>
      <ErrorBanner error={generalError(errors, fields)} />
      {children((field) => errorFor(errors, field))}
      <div className="row">
        <button type="submit" className="primary" disabled={saving.isPending}>
          {saving.isPending ? "Saving…" : saveLabel}
        </button>
        <button type="button" onClick={onDone}>
          Cancel
        </button>
        {test ? (
          <button type="button" disabled={trying.isPending} onClick={() => trying.mutate()}>
            Test these values
          </button>
        ) : null}
        <SaveRefusal errors={errors} known={fields} places={guard.places} pending={saving.isPending} />
      </div>
      {test ? <CheckResult result={trying.data} error={trying.error} pending={trying.isPending} service={test.service} /> : null}
    </form>
  );
}
