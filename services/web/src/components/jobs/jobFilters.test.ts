import { describe, expect, it } from "vitest";
import { filtersFromSearch, jobQueryParams, PAGE_SIZE, searchFromFilters } from "./jobFilters";

describe("job filters", () => {
  it("become the query of GET /jobs, empty ones left out, with the cursor of the next page", () => {
    expect(jobQueryParams({})).toEqual({ limit: PAGE_SIZE });
    expect(jobQueryParams({ status: "failed", host_id: "vm" }, "abc")).toEqual({
      limit: PAGE_SIZE,
      status: "failed",
      host_id: "vm",
      cursor: "abc",
    });
    expect(jobQueryParams({ kind: "backup", plan_id: "p1" }, null)).toEqual({ limit: PAGE_SIZE, kind: "backup", plan_id: "p1" });
  });

  it("are read from the address, dropping values the API does not know", () => {
    const filters = filtersFromSearch(new URLSearchParams("status=failed&kind=nonsense&host_id=vm&plan_id="));
    expect(filters).toEqual({ status: "failed", host_id: "vm" });
  });

  it("round-trip through the address", () => {
    const filters = { status: "running" as const, kind: "restore" as const, host_id: "vm", plan_id: "p1" };
    expect(filtersFromSearch(searchFromFilters(filters))).toEqual(filters);
    expect(searchFromFilters({ status: undefined }).toString()).toBe("");
  });
});
