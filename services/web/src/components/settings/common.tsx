// What the settings sections share: the settings query, API errors per field, test results.
import { useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { api, type Schemas } from "../../api/client";
import { ApiError, fieldErrors, type FieldErrors, unwrap } from "../../api/errors";
import { formatDateTime } from "../../lib/format";
import { entryUnder, unplacedMessages } from "../../lib/fieldMessages";

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

/** A form's values and a setter for one field at a time. */
export function useFormFields<F>(initial: () => F): [F, <K extends keyof F>(key: K, value: F[K]) => void] {
  const [form, setForm] = useState<F>(initial);
  const set = <K extends keyof F>(key: K, value: F[K]) => setForm((f) => ({ ...f, [key]: value }));
  return [form, set];
}
