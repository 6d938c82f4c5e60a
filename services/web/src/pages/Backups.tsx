// The catalog: every archive per resource, with size, checksum, copies and the last check.
import { useCallback, useEffect, useRef, useState } from "react";
import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { useSearchParams } from "react-router-dom";
import { api } from "../api/client";
import { unwrap } from "../api/errors";
import { useJobEvents } from "../lib/jobEvents";
import { useCan } from "../auth/session";
import { ArtifactRow } from "../components/backups/ArtifactRow";
import { artifactQuery, withFilter } from "../components/backups/filters";
import { EmptyState, ErrorBanner, Field, Loading, MoreButton, Page } from "../components/ui";
import "../components/backups/backups.css";
import { DataTable } from "../components/DataTable";

const PAGE_SIZE = 50;

export function BackupsPage() {
  const mayBackUp = useCan()("POST", "/plans");
  const [params, setParams] = useSearchParams();
  const filters = artifactQuery(params);
  useJobEvents(); // a backup, check or deletion that ends shows here without a reload
  const setFilter = useCallback(
    (name: string, value: string) => setParams((current) => withFilter(current, name, value), { replace: true }),
    [setParams],
  );

  const artifacts = useInfiniteQuery({
    queryKey: ["artifacts", filters],
    queryFn: async ({ pageParam }) =>
      unwrap(
        await api.GET("/artifacts", {
          params: { query: { ...filters, limit: PAGE_SIZE, ...(pageParam ? { cursor: pageParam } : {}) } },
        }),
      ),
    initialPageParam: null as string | null,
    getNextPageParam: (page) => page.next_cursor,
  });
  const items = artifacts.data?.pages.flatMap((page) => page.items) ?? [];
  const filtered = Object.keys(filters).length > 0;

  return (
    <Page title="Backups">
      <Filters params={params} onChange={setFilter} />
      {artifacts.error ? <ErrorBanner error={artifacts.error} /> : null}
      {artifacts.isPending ? (
        <Loading what="Loading backups" />
      ) : items.length === 0 ? (
        filtered ? (
          <EmptyState>
            No backup matches these filters.{" "}
            <button type="button" className="link" onClick={() => setParams(new URLSearchParams(), { replace: true })}>
              Clear the filters
            </button>
          </EmptyState>
        ) : (
          <EmptyState action={{ to: "/plans", label: "Go to plans" }}>
            {mayBackUp
              ? 'No backups yet. Create a plan (or use "back up now" on a resource) and its archives appear here.'
              : "No backups yet. Once an operator or admin creates a plan, its archives appear here."}
          </EmptyState>
        )
      ) : (
        <>
          <DataTable label="Backups" stack headers={["Resource", "Created", "Size", "sha256", "Copies", "Verified at", "Actions"]}>
            {items.map((artifact) => (
              <ArtifactRow key={artifact.id} artifact={artifact} onResource={(name) => setFilter("resource", name)} />
            ))}
          </DataTable>
          <MoreButton
            hasMore={artifacts.hasNextPage}
            loading={artifacts.isFetchingNextPage}
            onMore={() => void artifacts.fetchNextPage()}
          />
        </>
      )}
    </Page>
  );
}

function Filters({ params, onChange }: { params: URLSearchParams; onChange: (name: string, value: string) => void }) {
  const hosts = useQuery({
    queryKey: ["resources", "hosts"],
    queryFn: async () => unwrap(await api.GET("/resources/hosts")),
    staleTime: 60_000,
  });
  const plans = useQuery({
    queryKey: ["plans"],
    queryFn: async () => unwrap(await api.GET("/plans")),
    staleTime: 60_000,
  });
  // The name filter waits for a pause in typing before it asks the API.
  const urlResource = params.get("resource") ?? "";
  const [resource, setResource] = useState(urlResource);
  const sent = useRef(urlResource);
  useEffect(() => {
    // Follow the URL only when something else changed it (a click on a name, "clear the filters").
    if (urlResource !== sent.current) {
      sent.current = urlResource;
      setResource(urlResource);
    }
  }, [urlResource]);
  useEffect(() => {
    if (resource.trim() === sent.current) return;
    const timer = setTimeout(() => {
      sent.current = resource.trim();
      onChange("resource", resource.trim());
    }, 350);
    return () => clearTimeout(timer);
  }, [resource, onChange]);

  return (
    <div className="filters">
      <Field label="Host" htmlFor="backups-host">
        <select id="backups-host" value={params.get("host") ?? ""} onChange={(e) => onChange("host", e.target.value)}>
          <option value="">All hosts</option>
          {(hosts.data ?? []).map((h) => (
            <option key={h.host_id} value={h.host_id}>
              {h.host_id}
            </option>
          ))}
          {/* a host from a link that no longer reports: still shown, so the filter is visible */}
          {params.get("host") && hosts.data && !hosts.data.some((h) => h.host_id === params.get("host")) ? (
            <option value={params.get("host")!}>{params.get("host")}</option>
          ) : null}
        </select>
      </Field>
      <Field label="Kind" htmlFor="backups-kind">
        <select id="backups-kind" value={params.get("kind") ?? ""} onChange={(e) => onChange("kind", e.target.value)}>
          <option value="">Any kind</option>
          <option value="volume">Volumes</option>
          <option value="container">Containers</option>
          <option value="image">Images</option>
        </select>
      </Field>
      <Field label="Resource" htmlFor="backups-resource">
        <input
          id="backups-resource"
          type="search"
          placeholder="Exact name"
          value={resource}
          onChange={(e) => setResource(e.target.value)}
        />
      </Field>
      <Field label="Plan" htmlFor="backups-plan">
        <select id="backups-plan" value={params.get("plan") ?? ""} onChange={(e) => onChange("plan", e.target.value)}>
          <option value="">All plans</option>
          {(plans.data ?? []).map((p) => (
            <option key={p.id} value={p.id}>
              {p.name}
            </option>
          ))}
          {/* a deleted plan (from a job's or the dashboard's link): its backups stay, so does the filter */}
          {params.get("plan") && plans.data && !plans.data.some((p) => p.id === params.get("plan")) ? (
            <option value={params.get("plan")!}>plan {params.get("plan")!.slice(0, 8)} (not listed)</option>
          ) : null}
        </select>
      </Field>
      <Field label="Verified" htmlFor="backups-verified">
        <select id="backups-verified" value={params.get("verified") ?? ""} onChange={(e) => onChange("verified", e.target.value)}>
          <option value="">Any</option>
          <option value="yes">Verified</option>
          <option value="no">Not verified</option>
        </select>
      </Field>
    </div>
  );
}
