// The next fire times of the cron expression being typed, from GET /plans/schedule-preview,
// asked for only once the typing pauses.
import { useEffect, useState } from "react";
import { useQuery } from "@tanstack/react-query";
import cronstrue from "cronstrue";
import { api } from "../../api/client";
import { ApiError, fieldErrors, unwrap } from "../../api/errors";

export const PREVIEW_DELAY_MS = 300;

/** Common schedules a person picks instead of writing cron. */
export const CRON_PRESETS = [
  { label: "Hourly", cron: "0 * * * *" },
  { label: "Daily", cron: "0 3 * * *" },
  { label: "Weekly", cron: "0 3 * * 0" },
] as const;

/** The cron expression in plain words ("At 02:30, Monday through Friday"); null when it is not
 *  one (the server's check says why). */
export function cronInWords(cron: string): string | null {
  const expression = cron.trim();
  if (!expression) return null;
  try {
    return cronstrue.toString(expression, { use24HourTimeFormat: true, throwExceptionOnParseError: true });
  } catch {
    return null;
  }
}

/** The query of GET /plans/schedule-preview, or null while there is nothing to ask about. */
export function schedulePreviewParams(cron: string, timezone: string): { cron: string; timezone?: string } | null {
  const expression = cron.trim();
  if (!expression) return null;
  const zone = timezone.trim();
  return zone ? { cron: expression, timezone: zone } : { cron: expression };
}

/** `value`, but only after it stayed the same for `delayMs`. */
export function useDebouncedValue<T>(value: T, delayMs: number = PREVIEW_DELAY_MS): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), delayMs);
    return () => clearTimeout(timer);
  }, [value, delayMs]);
  return settled;
}

export interface SchedulePreviewState {
  fireTimes: string[];
  /** The expression is valid but names no date that comes (`0 0 31 2 *`). */
  neverFires: boolean;
  cronError: string | null;
  timezoneError: string | null;
  /** A failure that is not about either field (the network, the session). */
  otherError: string | null;
  pending: boolean;
}

/** Messages of a 422 from the preview, per field. */
export function previewErrors(error: unknown): Pick<SchedulePreviewState, "cronError" | "timezoneError" | "otherError"> {
  if (!(error instanceof ApiError)) {
    return { cronError: null, timezoneError: null, otherError: error ? String((error as Error).message ?? error) : null };
  }
  const { fields, general } = fieldErrors(error.body, ["cron", "timezone"]);
  return {
    cronError: fields.cron ?? fields["query.cron"] ?? null,
    timezoneError: fields.timezone ?? fields["query.timezone"] ?? null,
    otherError: general,
  };
}

export function useSchedulePreview(cron: string, timezone: string): SchedulePreviewState {
  // Debounce the text (a fresh object each render would restart the timer for nothing).
  const typed = JSON.stringify(schedulePreviewParams(cron, timezone));
  const settled = useDebouncedValue(typed);
  // While the typing has not settled, the last answer is about another expression or zone:
  // showing it (formatted in the new zone) would show times that will not happen.
  const stale = typed !== settled;
  const params = JSON.parse(settled) as ReturnType<typeof schedulePreviewParams>;
  const query = useQuery({
    queryKey: ["schedule-preview", params?.cron ?? "", params?.timezone ?? ""],
    queryFn: async () =>
      unwrap(await api.GET("/plans/schedule-preview", { params: { query: params! } })).fire_times,
    enabled: params !== null,
    retry: false,
    staleTime: 30_000,
  });
  return {
    fireTimes: stale ? [] : (query.data ?? []),
    neverFires: !stale && query.isSuccess && query.data.length === 0,
    pending: params !== null && (stale || query.isFetching),
    ...previewErrors(query.error),
  };
}
