// Hosts, containers, volumes and images as the executors report them, each with its
// protection and newest backup; filters live in the URL so other pages can link to a view.
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useSearchParams } from "react-router-dom";
import { api } from "../api/client";
import { unwrap } from "../api/errors";
import { useJobEvents } from "../lib/jobEvents";
import { useCan } from "../auth/session";
import {
  filtersFrom,
  keepsImage,
  queryOf,
  searchOf,
  TABS,
  type ResourceFilters,
  type Tab,
} from "../components/resources/filters";
import { ContainersTable, HostsTable, ImagesTable, VolumesTable } from "../components/resources/ResourceTables";
import "../components/resources/resources.css";
import { EmptyState, ErrorBanner, Field, Loading, Page } from "../components/ui";

const TAB_LABEL: Record<Tab, string> = { hosts: "Hosts", containers: "Containers", volumes: "Volumes", images: "Images" };

export function ResourcesPage() {
  const [search, setSearch] = useSearchParams();
  const filters = filtersFrom(search);
  useJobEvents(); // a backup, check or deletion that ends shows here without a reload
  const change = (patch: Partial<ResourceFilters>) => setSearch(searchOf({ ...filters, ...patch }), { replace: true });
  const hosts = useQuery({
    queryKey: ["resources", "hosts", {}],
    queryFn: async () => unwrap(await api.GET("/resources/hosts")),
  });
  return (
    <Page title="Resources">
      <div className="tabs" role="tablist" aria-label="Resource kind">
        {TABS.map((tab) => (
          <button
            key={tab}
            type="button"
            role="tab"
            id={`tab-${tab}`}
            aria-selected={filters.tab === tab}
            aria-controls="resources-panel"
            onClick={() => change({ tab })}
          >
            {TAB_LABEL[tab]}
          </button>
        ))}
      </div>
      <form className="filters" role="search" onSubmit={(event) => event.preventDefault()}>
        <Field label="Host" htmlFor="resources-host">
          <select id="resources-host" value={filters.host} onChange={(e) => change({ host: e.target.value })}>
            <option value="">All hosts</option>
            {(hosts.data ?? []).map((h) => (
              <option key={h.host_id} value={h.host_id}>
                {h.host_id}
              </option>
            ))}
            {filters.host && hosts.data && !hosts.data.some((h) => h.host_id === filters.host) ? (
              <option value={filters.host}>{filters.host}</option>
            ) : null}
          </select>
        </Field>
        {filters.tab !== "hosts" ? (
          <>
            <Field label="Name" htmlFor="resources-name">
              <input
                id="resources-name"
                type="search"
                value={filters.name}
                maxLength={255}
                onChange={(e) => change({ name: e.target.value })}
              />
            </Field>
            <Field label="Protection" htmlFor="resources-protection">
              <select
                id="resources-protection"
                value={filters.protection}
                onChange={(e) => change({ protection: e.target.value as ResourceFilters["protection"] })}
              >
                <option value="all">All</option>
                <option value="protected">Protected</option>
                <option value="unprotected">Unprotected</option>
              </select>
            </Field>
          </>
        ) : null}
      </form>
      <div id="resources-panel" role="tabpanel" aria-labelledby={`tab-${filters.tab}`}>
        <ResourceList filters={filters} noHosts={hosts.data?.length === 0} />
      </div>
    </Page>
  );
}

function ResourceList({ filters, noHosts }: { filters: ResourceFilters; noHosts: boolean }) {
  const can = useCan();
  const query = queryOf(filters);
  const list = useQuery({
    queryKey: ["resources", filters.tab, query],
    queryFn: async () => {
      switch (filters.tab) {
        case "hosts":
          return { tab: "hosts" as const, rows: unwrap(await api.GET("/resources/hosts", { params: { query } })) };
        case "containers":
          return {
            tab: "containers" as const,
            rows: unwrap(await api.GET("/resources/containers", { params: { query } })),
          };
        case "volumes":
          return { tab: "volumes" as const, rows: unwrap(await api.GET("/resources/volumes", { params: { query } })) };
        case "images": {
          const images = unwrap(await api.GET("/resources/images", { params: { query } }));
          return { tab: "images" as const, rows: images };
        }
      }
    },
    placeholderData: keepPreviousData,
  });
  if (list.error) return <ErrorBanner error={list.error} />;
  if (!list.data) return <Loading what={`Loading ${filters.tab}`} />;
  const data = list.data;
  if (noHosts) {
    return (
      <EmptyState>
        No host has reported yet. Start the DockBack executor on a Docker host; its containers, volumes and images
        appear here within a minute.
      </EmptyState>
    );
  }
  const filtered = filters.host || filters.name.trim() || filters.protection !== "all";
  const rows = data.tab === "images" ? data.rows.filter((image) => keepsImage(filters, image)) : data.rows;
  if (rows.length === 0) {
    if (filtered) return <EmptyState>Nothing matches these filters: clear the Host, Name or Protection filter.</EmptyState>;
    return (
      <EmptyState action={data.tab === "volumes" && can("POST", "/plans") ? { to: "/plans/new", label: "Create a plan" } : undefined}>
        No {filters.tab} on the reported hosts.
      </EmptyState>
    );
  }
  switch (data.tab) {
    case "hosts":
      return <HostsTable hosts={data.rows} />;
    case "containers":
      return <ContainersTable containers={data.rows} />;
    case "volumes":
      return <VolumesTable volumes={data.rows} />;
    case "images":
      return <ImagesTable images={data.rows.filter((image) => keepsImage(filters, image))} />;
  }
}
