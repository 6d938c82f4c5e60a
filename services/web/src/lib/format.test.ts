import { describe, expect, it } from "vitest";
import { formatBytes, formatDuration, formatRelative } from "./format";

describe("format", () => {
  it("formats bytes with binary units", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(300 * 1024 * 1024)).toBe("300 MiB");
    expect(formatBytes(null)).toBe("—");
  });

  it("says how long ago or how soon", () => {
    const now = Date.parse("2026-01-01T12:00:00Z");
    expect(formatRelative("2026-01-01T11:57:00Z", now)).toBe("3 min ago");
    expect(formatRelative("2026-01-01T14:00:00Z", now)).toBe("in 2 h");
    expect(formatRelative(null, now)).toBe("never");
  });

  it("formats durations", () => {
    expect(formatDuration("2026-01-01T12:00:00Z", "2026-01-01T12:01:05Z")).toBe("1 min 5 s");
  });
});
