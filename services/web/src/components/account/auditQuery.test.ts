import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AUDIT_PAGE_SIZE, NO_FILTERS, auditQuery, exportHref, filtersFromSearch, localToIsoUtc, searchFromFilters } from "./auditQuery";

describe("auditQuery", () => {
  let zone: string | undefined;
  beforeEach(() => {
    zone = process.env.TZ;
    process.env.TZ = "Europe/Berlin"; // UTC+1 in November
  });
  afterEach(() => {
    process.env.TZ = zone;
  });

  it("sends only the page size when nothing is filtered", () => {
    expect(auditQuery(NO_FILTERS)).toEqual({ limit: AUDIT_PAGE_SIZE });
  });

  it("trims the text filters and drops empty ones", () => {
    expect(auditQuery({ ...NO_FILTERS, actor: " admin ", action: "  " })).toEqual({ limit: AUDIT_PAGE_SIZE, actor: "admin" });
  });

  it("converts local times to ISO UTC for since and until", () => {
    const query = auditQuery({ ...NO_FILTERS, from: "2026-11-26T10:00", to: "2026-11-26T12:30", outcome: "failure" });
    expect(query).toEqual({
      limit: AUDIT_PAGE_SIZE,
      outcome: "failure",
      since: "2026-11-26T09:00:00.000Z",
      until: "2026-11-26T11:30:00.000Z",
    });
  });

  it("passes the cursor as before", () => {
    expect(auditQuery({ ...NO_FILTERS, action: "login" }, 42)).toEqual({ limit: AUDIT_PAGE_SIZE, action: "login", before: 42 });
  });

  it("ignores an unreadable time", () => {
    expect(localToIsoUtc("yesterday")).toBeNull();
    expect(localToIsoUtc("")).toBeNull();
  });
});

describe("audit filters in the URL and the CSV export", () => {
  it("reads the filters back from the URL they were written to, dropping unset ones", () => {
    const filters = { ...NO_FILTERS, actor: "viewer", action: "access.refused", outcome: "failure" as const, from: "2026-11-26T10:00" };
    const search = searchFromFilters(filters);
    expect(search.toString()).toBe("actor=viewer&action=access.refused&outcome=failure&from=2026-11-26T10%3A00");
    expect(filtersFromSearch(search)).toEqual(filters);
    expect(searchFromFilters(NO_FILTERS).toString()).toBe("");
  });

  it("ignores an outcome the API does not know", () => {
    expect(filtersFromSearch(new URLSearchParams("outcome=maybe&actor=bob"))).toEqual({ ...NO_FILTERS, actor: "bob" });
  });

  it("exports the same filters as the page shows, without the page size", () => {
    expect(exportHref(NO_FILTERS, "/api")).toBe("/api/audit/export.csv");
    expect(exportHref({ ...NO_FILTERS, actor: " a&b ", outcome: "failure" }, "/api")).toBe("/api/audit/export.csv?actor=a%26b&outcome=failure");
  });
});
