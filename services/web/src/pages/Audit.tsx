// The audit log (admins): who did what, when and from where; filtered, newest first, page by page.
import { useEffect, useState, type FormEvent } from "react";
import { useSearchParams } from "react-router-dom";
import { keepPreviousData, useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { API_BASE, api } from "../api/client";
import { unwrap } from "../api/errors";
import { useCan } from "../auth/session";
import { EmptyState, ErrorBanner, Field, Loading, MoreButton, Notice, Page } from "../components/ui";
import { AuditTable } from "../components/account/AuditTable";
import {
  NO_FILTERS,
  auditQuery,
  exportHref,
  filtersFromSearch,
  searchFromFilters,
  type AuditFilters,
} from "../components/account/auditQuery";
import "../components/account/account.css";

const TYPING_PAUSE_MS = 350;

export function AuditPage() {
  const can = useCan();
  const allowed = can("GET", "/audit");
  // The filters live in the URL (reload, bookmark, send a filtered view); the inputs hold a draft.
  const [search, setSearch] = useSearchParams();
  const filters = filtersFromSearch(search);
  const [draft, setDraft] = useState<AuditFilters>(filters);
  const setFilters = (next: AuditFilters) => setSearch(searchFromFilters(next), { replace: true });

  // Filter as the admin types, once they pause.
  useEffect(() => {
    const timer = setTimeout(() => {
      if (searchFromFilters(draft).toString() !== search.toString()) setSearch(searchFromFilters(draft), { replace: true });
    }, TYPING_PAUSE_MS);
    return () => clearTimeout(timer);
  }, [draft, search, setSearch]);

  // The URL changed from outside (back, a link to a filtered view): the inputs follow.
  const searchText = search.toString();
  useEffect(() => {
    setDraft((current) => (searchFromFilters(current).toString() === searchText ? current : filtersFromSearch(new URLSearchParams(searchText))));
  }, [searchText]);

  const query = auditQuery(filters);
  const log = useInfiniteQuery({
    queryKey: ["audit", query],
    queryFn: async ({ pageParam }) => unwrap(await api.GET("/audit", { params: { query: auditQuery(filters, pageParam) } })),
    initialPageParam: undefined as number | undefined,
    getNextPageParam: (last) => last.next_before ?? undefined,
    placeholderData: keepPreviousData,
    enabled: allowed,
  });

  // Plans by name, for the entries about them (a deleted plan keeps the name its entries recorded).
  const plans = useQuery({ queryKey: ["plans"], queryFn: async () => unwrap(await api.GET("/plans")), enabled: allowed });
  const planNames = new Map((plans.data ?? []).map((plan) => [plan.id, plan.name]));

  if (!allowed) {
    return (
      <Page title="Audit log">
        <Notice>Only admins can read the audit log.</Notice>
      </Page>
    );
  }

  const set = (key: keyof AuditFilters) => (value: string) => setDraft((d) => ({ ...d, [key]: value }));
  const filtered = JSON.stringify(filters) !== JSON.stringify(NO_FILTERS);
  const entries = log.data?.pages.flatMap((page) => page.entries) ?? [];

  function apply(event: FormEvent) {
    event.preventDefault();
    setFilters(draft);
  }

  return (
    <Page title="Audit log">
      <form className="filters" onSubmit={apply} aria-label="Filter the audit log">
        <Field label="Actor" htmlFor="audit-actor">
          <input id="audit-actor" value={draft.actor} placeholder="username" onChange={(e) => set("actor")(e.target.value)} />
        </Field>
        <Field label="Action" htmlFor="audit-action">
          <input
            id="audit-action"
            value={draft.action}
            placeholder="e.g. login, plan., restore"
            title="An action or the start of one: “login” also finds login.mfa"
            onChange={(e) => set("action")(e.target.value)}
          />
        </Field>
        <Field label="Outcome" htmlFor="audit-outcome">
          <select id="audit-outcome" value={draft.outcome} onChange={(e) => set("outcome")(e.target.value)}>
            <option value="">any</option>
            <option value="success">success</option>
            <option value="failure">failure</option>
          </select>
        </Field>
        <Field label="From" htmlFor="audit-from">
          <input id="audit-from" type="datetime-local" value={draft.from} onChange={(e) => set("from")(e.target.value)} />
        </Field>
        <Field label="To" htmlFor="audit-to">
          <input id="audit-to" type="datetime-local" value={draft.to} onChange={(e) => set("to")(e.target.value)} />
        </Field>
        <button type="submit" className="primary">
          Filter
        </button>
        {filtered ? (
          <button
            type="button"
            onClick={() => {
              setDraft(NO_FILTERS);
              setFilters(NO_FILTERS);
            }}
          >
            Clear filters
          </button>
        ) : null}
        <a className="button" href={exportHref(filters, API_BASE)} download title="Every entry matching these filters, as CSV">
          Export CSV
        </a>
      </form>
      <ErrorBanner error={log.error} />
      {log.isPending ? <Loading what="Reading the audit log" /> : null}
      {log.data && entries.length === 0 ? (
        <EmptyState>
          {filtered
            ? "No entries match these filters. Widen the time range or clear the filters."
            : "Nothing recorded yet. Actions people take — logins, plan changes, backups run by hand, restores, user changes — appear here."}
        </EmptyState>
      ) : null}
      {entries.length > 0 ? <AuditTable entries={entries} planNames={planNames} /> : null}
      <MoreButton hasMore={log.hasNextPage} loading={log.isFetchingNextPage} onMore={() => void log.fetchNextPage()} />
    </Page>
  );
}
