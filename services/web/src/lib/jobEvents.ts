// Live job news from GET /jobs/events (server-sent events), folded into TanStack Query's cache
// so every list and detail that shows a job updates at once.
import { useEffect } from "react";
import { useQueryClient, type QueryClient } from "@tanstack/react-query";
import { API_BASE, refreshSession } from "../api/client";
import type { Schemas } from "../api/client";

export type Job = Schemas["JobOut"];

export interface Progress {
  job_id: string;
  host_id: string;
  phase: string;
  bytes_done: number;
  bytes_total: number | null;
  at: string;
}

/** What a finished job can change besides itself: the backups (a new archive, a check's
 *  result, a deletion), the resources' last backup and verification, the plans' last run. */
export const AFTER_A_JOB = [["artifacts"], ["resources"], ["plans"]] as const;

/** Query keys: ["jobs", ...filters] for lists, ["job", id] for one job's detail. */
export const jobKey = (id: string) => ["job", id] as const;

/** Apply one piece of news to a job as the API shows it. Pure, for tests. */
export function applyNews(job: Job, kind: "job" | "progress", data: Job | Progress): Job {
  if (kind === "job") {
    const fresh = data as Job;
    return fresh.id === job.id ? { ...job, ...fresh } : job;
  }
  const progress = data as Progress;
  if (progress.job_id !== job.id || job.finished) return job;
  return {
    ...job,
    phase: progress.phase,
    bytes_done: progress.bytes_done,
    bytes_total: progress.bytes_total, // each step has its own total, unknown (null) for some
    status: job.status === "queued" ? "running" : job.status,
  };
}

/** Fold one piece of news into the cache: the job where it is shown, and what it changed. */
export function foldIntoCache(client: QueryClient, kind: "job" | "progress", data: Job | Progress): void {
  const id = kind === "job" ? (data as Job).id : (data as Progress).job_id;
  client.setQueryData<Job>(jobKey(id), (job) => (job ? applyNews(job, kind, data) : job));
  // Lists are pages of jobs: patch the job where it appears.
  client.setQueriesData<unknown>({ queryKey: ["jobs"] }, (cached: unknown) => patchLists(cached, id, kind, data));
  if (kind === "job") {
    // A status change can move counts and other views: read them again.
    void client.invalidateQueries({ queryKey: ["dashboard"] });
    if ((data as Job).finished) {
      for (const queryKey of AFTER_A_JOB) void client.invalidateQueries({ queryKey });
    }
  }
}

function patchLists(cached: unknown, id: string, kind: "job" | "progress", data: Job | Progress): unknown {
  if (!cached || typeof cached !== "object") return cached;
  const patchItems = (items: Job[]) => items.map((job) => (job.id === id ? applyNews(job, kind, data) : job));
  const value = cached as { items?: Job[]; pages?: { items?: Job[] }[] };
  if (Array.isArray(value.items)) return { ...value, items: patchItems(value.items) };
  if (Array.isArray(value.pages)) {
    return { ...value, pages: value.pages.map((page) => (page.items ? { ...page, items: patchItems(page.items) } : page)) };
  }
  return cached;
}

/** Listen while mounted (one job's news with `jobId`, else all). Reconnects after an error,
 *  renewing the session first (the stream ends when the access token expires), and reloads the
 *  jobs then, since news sent while disconnected is not replayed. */
export function useJobEvents(jobId?: string, enabled = true): void {
  const client = useQueryClient();
  useEffect(() => {
    if (!enabled || typeof EventSource === "undefined") return; // no live news: the pages still load
    let source: EventSource | null = null;
    let stopped = false;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let delay = 1000;

    const connect = () => {
      const url = `${API_BASE}/jobs/events${jobId ? `?job_id=${encodeURIComponent(jobId)}` : ""}`;
      source = new EventSource(url, { withCredentials: true });
      source.onopen = () => {
        delay = 1000;
      };
      for (const kind of ["job", "progress"] as const) {
        source.addEventListener(kind, (event) => {
          try {
            foldIntoCache(client, kind, JSON.parse((event as MessageEvent<string>).data));
          } catch {
            // a malformed message is dropped; the next one or a reload corrects the view
          }
        });
      }
      source.onerror = () => {
        source?.close();
        if (stopped) return;
        retry = setTimeout(async () => {
          await refreshSession();
          if (stopped) return;
          void client.invalidateQueries({ queryKey: jobId ? jobKey(jobId) : ["jobs"] });
          connect();
        }, delay);
        delay = Math.min(delay * 2, 30_000);
      };
    };
    connect();
    return () => {
      stopped = true;
      clearTimeout(retry);
      source?.close();
    };
  }, [client, jobId, enabled]);
}
