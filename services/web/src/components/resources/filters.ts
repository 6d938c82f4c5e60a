// The resources page's filters, kept in the URL (?tab=volumes&host=h1&name=db&protection=unprotected)
// so links from the dashboard land on a filtered view, and turned into the API's query.

export const TABS = ["hosts", "containers", "volumes", "images"] as const;
export type Tab = (typeof TABS)[number];
export type Protection = "all" | "protected" | "unprotected";

export interface ResourceFilters {
  tab: Tab;
  host: string;
  name: string;
  protection: Protection;
}

export const DEFAULT_TAB: Tab = "volumes";

export function filtersFrom(search: URLSearchParams): ResourceFilters {
  const tab = search.get("tab");
  const protection = search.get("protection");
  return {
    tab: TABS.includes(tab as Tab) ? (tab as Tab) : DEFAULT_TAB,
    host: search.get("host") ?? "",
    name: search.get("name") ?? "",
    protection: protection === "protected" || protection === "unprotected" ? protection : "all",
  };
}

/** The URL's search for these filters (defaults left out). */
export function searchOf(filters: ResourceFilters): URLSearchParams {
  const search = new URLSearchParams();
  if (filters.tab !== DEFAULT_TAB) search.set("tab", filters.tab);
  if (filters.host) search.set("host", filters.host);
  if (filters.name) search.set("name", filters.name);
  if (filters.protection !== "all") search.set("protection", filters.protection);
  return search;
}

export interface ResourceQuery {
  host_id?: string;
  name?: string;
  protected?: boolean;
}

/** The query of GET /resources/<tab>: hosts take only the host; images have no protection filter
 *  in the API (the page filters them itself, see `keepsImage`). */
export function queryOf(filters: ResourceFilters): ResourceQuery {
  const query: ResourceQuery = {};
  if (filters.host) query.host_id = filters.host;
  if (filters.tab === "hosts") return query;
  const name = filters.name.trim();
  if (name) query.name = name;
  if (filters.tab !== "images" && filters.protection !== "all") query.protected = filters.protection === "protected";
  return query;
}

export function keepsImage(filters: ResourceFilters, image: { protected: boolean }): boolean {
  return filters.protection === "all" || image.protected === (filters.protection === "protected");
}
