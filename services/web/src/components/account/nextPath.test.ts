import { describe, expect, it } from "vitest";
import { safeNextPath } from "./nextPath";

describe("safeNextPath", () => {
  it("keeps a path on this site with its query", () => {
    expect(safeNextPath("/jobs?status=failed")).toBe("/jobs?status=failed");
    expect(safeNextPath("/plans/abc")).toBe("/plans/abc");
  });

  it("falls back to the dashboard without a next", () => {
    expect(safeNextPath(null)).toBe("/");
    expect(safeNextPath(undefined)).toBe("/");
    expect(safeNextPath("")).toBe("/");
  });

  it("refuses other sites, protocol-relative and backslash tricks", () => {
    expect(safeNextPath("https://evil.example/")).toBe("/");
    expect(safeNextPath("//evil.example/x")).toBe("/");
    expect(safeNextPath("/\\evil.example")).toBe("/");
    expect(safeNextPath("javascript:alert(1)")).toBe("/");
    expect(safeNextPath("jobs")).toBe("/");
    expect(safeNextPath("/\tjobs")).toBe("/");
  });

  it("does not loop back to the login page", () => {
    expect(safeNextPath("/login?next=/jobs")).toBe("/");
  });
});
