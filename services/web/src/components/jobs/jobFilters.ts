// The jobs list's filters: kept in the page's address (so a link can open /jobs?status=failed)
// and turned into the query of GET /jobs.

export const JOB_STATUSES = ["queued", "running", "succeeded", "failed", "cancelled"] as const;
export const JOB_KINDS = ["backup", "restore", "verify", "prune"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export type JobKind = (typeof JOB_KINDS)[number];

export interface JobFilters {
  status?: JobStatus;
  kind?: JobKind;
  host_id?: string;
  plan_id?: string;
}

export const PAGE_SIZE = 50;

function oneOf<T extends string>(allowed: readonly T[], value: string | null): T | undefined {
  return value !== null && (allowed as readonly string[]).includes(value) ? (value as T) : undefined;
}

/** Filters from the address; unknown values are dropped rather than sent to the API. */
export function filtersFromSearch(search: URLSearchParams): JobFilters {
  const filters: JobFilters = {};
  const status = oneOf(JOB_STATUSES, search.get("status"));
  const kind = oneOf(JOB_KINDS, search.get("kind"));
  const host = search.get("host_id");
  const plan = search.get("plan_id");
  if (status) filters.status = status;
  if (kind) filters.kind = kind;
  if (host) filters.host_id = host;
  if (plan) filters.plan_id = plan;
  return filters;
}

/** The address's search part for filters (empty ones left out). */
export function searchFromFilters(filters: JobFilters): URLSearchParams {
  const search = new URLSearchParams();
  for (const key of ["status", "kind", "host_id", "plan_id"] as const) {
    const value = filters[key];
    if (value) search.set(key, value);
  }
  return search;
}

export type JobQuery = JobFilters & { limit: number; cursor?: string };

/** The query of GET /jobs for one page: the filters set, the page size and the cursor if any. */
export function jobQueryParams(filters: JobFilters, cursor?: string | null): JobQuery {
  const query: JobQuery = { limit: PAGE_SIZE };
  if (filters.status) query.status = filters.status;
  if (filters.kind) query.kind = filters.kind;
  if (filters.host_id) query.host_id = filters.host_id;
  if (filters.plan_id) query.plan_id = filters.plan_id;
  if (cursor) query.cursor = cursor;
  return query;
}
