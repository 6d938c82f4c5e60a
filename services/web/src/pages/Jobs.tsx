import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { useSearchParams } from "react-router-dom";
import { api } from "../api/client";
import { unwrap } from "../api/errors";
import { useCan } from "../auth/session";
import { JobFiltersBar } from "../components/jobs/JobFiltersBar";
import { JobRow } from "../components/jobs/JobRow";
import { filtersFromSearch, jobQueryParams, searchFromFilters } from "../components/jobs/jobFilters";
import { EmptyState, ErrorBanner, Loading, MoreButton, Page } from "../components/ui";
import { useJobEvents } from "../lib/jobEvents";
import "../components/jobs/jobs.css";
import { DataTable } from "../components/DataTable";

/** /jobs: every job, newest first, filtered, with live progress from the gateway's job news. */
export function JobsPage() {
  const mayRun = useCan()("POST", "/jobs");
  const [search, setSearch] = useSearchParams();
  const filters = filtersFromSearch(search);
  useJobEvents();

  const hosts = useQuery({ queryKey: ["resources", "hosts"], queryFn: async () => unwrap(await api.GET("/resources/hosts")) });
  const plans = useQuery({ queryKey: ["plans"], queryFn: async () => unwrap(await api.GET("/plans")) });
  const jobs = useInfiniteQuery({
    queryKey: ["jobs", filters],
    queryFn: async ({ pageParam }) => unwrap(await api.GET("/jobs", { params: { query: jobQueryParams(filters, pageParam) } })),
    initialPageParam: null as string | null,
    getNextPageParam: (page) => page.next_cursor,
    // Live news patches jobs already listed; new jobs appear with this reload.
    refetchInterval: 15_000,
  });

  const planNames = new Map((plans.data ?? []).map((plan) => [plan.id, plan.name]));
  const items = jobs.data?.pages.flatMap((page) => page.items) ?? [];
  const filtered = Object.keys(filters).length > 0;

  return (
    <Page title="Jobs">
      <JobFiltersBar
        filters={filters}
        onChange={(next) => setSearch(searchFromFilters(next), { replace: true })}
        hosts={hosts.data ?? []}
        plans={plans.data ?? []}
      />
      <ErrorBanner error={jobs.error} />
      {jobs.isPending ? (
        <Loading what="Loading jobs" />
      ) : items.length === 0 && !jobs.isError ? (
        filtered ? (
          <EmptyState action={{ to: "/jobs", label: "Show all jobs" }}>No job matches these filters.</EmptyState>
        ) : (
          <EmptyState action={{ to: "/plans", label: "Go to plans" }}>
            {mayRun
              ? "No jobs yet: run a plan now, or wait for its schedule."
              : "No jobs yet: they appear here when a plan's schedule fires or an operator runs one."}
          </EmptyState>
        )
      ) : (
        <>
          <DataTable label="Jobs" stack headers={["Job", "Status", "Kind", "Resource or plan", "Host", "Started", "Duration", "Progress"]}>
            {items.map((job) => (
              <JobRow key={job.id} job={job} planNames={planNames} />
            ))}
          </DataTable>
          <MoreButton hasMore={jobs.hasNextPage} loading={jobs.isFetchingNextPage} onMore={() => void jobs.fetchNextPage()} />
        </>
      )}
    </Page>
  );
}
