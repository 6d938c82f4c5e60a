// The audit page's filter inputs as the query of GET /audit.
import type { paths } from "../../api/schema";

export type AuditQuery = NonNullable<paths["/audit"]["get"]["parameters"]["query"]>;

export interface AuditFilters {
  actor: string;
  /** An action or its prefix ("login" also finds "login.mfa"). */
  action: string;
  outcome: "" | "success" | "failure";
  /** `<input type="datetime-local">` values, in the browser's time zone. */
  from: string;
  to: string;
}

export const NO_FILTERS: AuditFilters = { actor: "", action: "", outcome: "", from: "", to: "" };
export const AUDIT_PAGE_SIZE = 50;

/** A datetime-local value ("2026-11-26T14:30") read in the browser's zone, as ISO UTC; null when empty or unreadable. */
export function localToIsoUtc(value: string): string | null {
  if (!value) return null;
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?/.exec(value);
  if (!match) return null;
  const [, y, mo, d, h, mi, s] = match;
  const date = new Date(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s ?? 0));
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

/** Only the filters that are set; `before` is the cursor of the page to load. */
export function auditQuery(filters: AuditFilters, before?: number): AuditQuery {
  const query: AuditQuery = { limit: AUDIT_PAGE_SIZE };
  const actor = filters.actor.trim();
  const action = filters.action.trim();
  const since = localToIsoUtc(filters.from);
  const until = localToIsoUtc(filters.to);
  if (actor) query.actor = actor;
  if (action) query.action = action;
  if (filters.outcome) query.outcome = filters.outcome;
  if (since) query.since = since;
  if (until) query.until = until;
  if (before !== undefined) query.before = before;
  return query;
}

const FILTER_KEYS = ["actor", "action", "outcome", "from", "to"] as const;

/** The filters kept in the page's URL (so a filtered view can be reloaded, bookmarked or sent). */
export function filtersFromSearch(search: URLSearchParams): AuditFilters {
  const outcome = search.get("outcome");
  return {
    actor: search.get("actor") ?? "",
    action: search.get("action") ?? "",
    outcome: outcome === "success" || outcome === "failure" ? outcome : "",
    from: search.get("from") ?? "",
    to: search.get("to") ?? "",
  };
}

/** Only the filters that are set, for the URL. */
export function searchFromFilters(filters: AuditFilters): URLSearchParams {
  const search = new URLSearchParams();
  for (const key of FILTER_KEYS) {
    const value = filters[key].trim();
    if (value) search.set(key, value);
  }
  return search;
}

/** Where the CSV of every entry matching the filters downloads from (GET /audit/export.csv). */
export function exportHref(filters: AuditFilters, apiBase: string): string {
  const { limit: _limit, ...query } = auditQuery(filters);
  const search = new URLSearchParams(Object.entries(query).map(([key, value]) => [key, String(value)]));
  const text = search.toString();
  return `${apiBase}/audit/export.csv${text ? `?${text}` : ""}`;
}
