// What the settings sections share: the settings query, API errors per field, test results.
import { useRef, useState, type FormEvent, type RefObject } from "react";
import { useQuery } from "@tanstack/react-query";
import { api, type Schemas } from "../../api/client";
import { ApiError, fieldErrors, type FieldErrors, unwrap } from "../../api/errors";
import { formatDateTime } from "../../lib/format";
import { entryUnder, isUnder, unplacedMessages } from "../../lib/fieldMessages";
import { RefusalSummary, useRefusalFocus, useUnsavedChanges } from "../formGuard";

export const SETTINGS_KEY = ["settings"] as const;

export function useSettings() {
  return useQuery({ queryKey: SETTINGS_KEY, queryFn: async () => unwrap(await api.GET("/settings")) });
}

/** The API's refusal split per field; null when there is none. */
export function formErrors(error: unknown, known: readonly string[]): FieldErrors | null {
  if (!error) return null;
  if (error instanceof ApiError) return fieldErrors(error.body, known);
  return { fields: {}, general: error instanceof Error ? error.message : String(error) };
}

/** A field's message, including those for its items ("recipients.1"). */
export function errorFor(errors: FieldErrors | null, field: string): string | null {
  if (!errors) return null;
  return entryUnder(errors.fields, field)?.[1] ?? null;
}

/** Field messages the form has no field for, and the general message: for the top of the form. */
export function generalError(errors: FieldErrors | null, shown: readonly string[]): string | null {
  if (!errors) return null;
  const parts = [errors.general, ...unplacedMessages(errors.fields, shown)].filter(Boolean);
  return parts.length ? parts.join("; ") : null;
}

export type CheckOut = Schemas["CheckOut"];

/** A test that could not run, in words: 503 means no uploader/notifier answered at all. */
export function checkFailure(error: unknown, service: "uploader" | "notifier"): string {
  if (error instanceof ApiError) {
    if (error.status === 503) {
      return `No ${service} answered the check, so nothing was tested. Is a DockBack ${service} running and connected? (${error.message})`;
    }
    if (error.status === 502) return `The ${service} sent an unreadable answer: ${error.message}`;
    if (error.status === 404) return `Nothing to test: ${error.message}. Save the settings first.`;
    return error.message;
  }
  return error instanceof Error ? error.message : String(error);
}

export function CheckResult({
  result,
  error,
  pending,
  service,
}: {
  result: CheckOut | undefined;
  error: unknown;
  pending: boolean;
  service: "uploader" | "notifier";
}) {
  if (pending) return <div className="check-result muted" role="status">Testing…</div>;
  if (error) {
    return (
      <div className="check-result banner error" role="alert">
        {checkFailure(error, service)}
      </div>
    );
  }
  if (!result) return null;
  return (
    <div className={`check-result banner ${result.ok ? "success" : "error"}`} role="status">
      <strong>{result.ok ? "Test passed" : "Test failed"}:</strong> {result.detail}
      <div className="muted small">
        Answered by {result.answered_by} at {formatDateTime(result.checked_at)}
      </div>
    </div>
  );
}

/** The hint under a write-only field. */
export function secretHint(stored: boolean | undefined): string {
  return stored ? "stored — leave empty to keep" : "not set";
}

/** What a form element and its Save button need of useSettingsForm. */
export interface SettingsFormGuard {
  submit: (save: () => void) => (event: FormEvent) => void;
  saved: () => void;
  refused: () => void;
  places: string[];
  errorsOf: (error: unknown, known: readonly string[]) => FieldErrors | null;
  formRef: RefObject<HTMLFormElement | null>;
}

/** A settings form's state and what every such form does around a save:
 *  - its own checks (`check`, by the API's field names) refuse a save before the API is asked;
 *  - a refused save focuses the first field with a message and summarises beside the button;
 *  - the API's message about a field goes once the user changes that field;
 *  - unsaved changes ask before navigation drops them. */
export function useSettingsForm<F extends object>({
  initial,
  check = () => ({}),
  formKeyOf = {},
}: {
  initial: () => F;
  check?: (form: F) => Record<string, string>;
  /** The form's key for an API field named otherwise ("part_size_bytes" → "part_size_mib"). */
  formKeyOf?: Record<string, keyof F>;
}) {
  const [form, setForm] = useState<F>(initial);
  const [touched, setTouched] = useState(false);
  const [checked, setChecked] = useState(false);
  const [sent, setSent] = useState<F | null>(null);
  const formRef = useRef<HTMLFormElement>(null);
  const refusal = useRefusalFocus(formRef);
  const release = useUnsavedChanges(touched);
  const local = checked ? check(form) : {};

  const set = <K extends keyof F>(key: K, value: F[K]) => {
    setForm((f) => ({ ...f, [key]: value }));
    setTouched(true);
  };
  /** The form's submit handler: checks, then `save()` (a mutation's mutate). */
  const submit = (save: () => void) => (event: FormEvent) => {
    event.preventDefault();
    setChecked(true);
    if (Object.keys(check(form)).length) {
      refusal.refused();
      return;
    }
    setSent(form);
    save();
  };
  /** After a save: the form holds what is stored (`next`, if given) and nothing unsaved. */
  const saved = (next?: F) => {
    release();
    setTouched(false);
    setChecked(false);
    setSent(null);
    if (next) setForm(next);
  };
  /** The messages to show: the form's own, and the API's for fields unchanged since the save. */
  const errorsOf = (error: unknown, known: readonly string[]): FieldErrors | null => {
    const server = formErrors(error, known);
    const fields: Record<string, string> = {};
    for (const [path, message] of Object.entries(server?.fields ?? {})) {
      const key = (formKeyOf[path.split(".")[0]] ?? path.split(".")[0]) as keyof F;
      const changed = sent !== null && key in form && form[key] !== sent[key];
      if (!changed) fields[path] = message;
    }
    for (const [path, message] of Object.entries(local)) {
      if (!Object.keys(fields).some((key) => isUnder(key, path))) fields[path] = message;
    }
    if (!server && !Object.keys(fields).length) return null;
    return { fields, general: server?.general ?? null };
  };
  return { form, set, submit, saved, refused: refusal.refused, places: refusal.places, errorsOf, formRef };
}

/** Beside a settings form's Save button: why the last save was refused, while it still is. */
export function SaveRefusal({
  errors,
  known,
  places,
  pending,
}: {
  errors: FieldErrors | null;
  /** The fields the form shows (other messages are quoted). */
  known: readonly string[];
  places: string[];
  pending: boolean;
}) {
  const general = generalError(errors, known);
  const show = !pending && !!errors && (Object.keys(errors.fields).length > 0 || !!general);
  return <RefusalSummary places={places} general={general} show={show} />;
}
