import { afterEach, describe, expect, it, vi } from "vitest";
import { act, renderHook } from "@testing-library/react";
import { ApiError } from "../../api/errors";
import {
  CRON_PRESETS,
  cronInWords,
  PREVIEW_DELAY_MS,
  previewErrors,
  schedulePreviewParams,
  useDebouncedValue,
} from "./schedulePreview";

describe("schedulePreviewParams", () => {
  it("asks with the trimmed expression and zone", () => {
    expect(schedulePreviewParams(" 0 3 * * * ", " Europe/Berlin ")).toEqual({ cron: "0 3 * * *", timezone: "Europe/Berlin" });
  });
  it("leaves the zone out when empty (the API's default, UTC)", () => {
    expect(schedulePreviewParams("0 3 * * *", "")).toEqual({ cron: "0 3 * * *" });
  });
  it("asks nothing for an empty expression", () => {
    expect(schedulePreviewParams("   ", "UTC")).toBeNull();
  });
});

describe("previewErrors", () => {
  it("puts the API's 422 messages on the cron and time zone fields", () => {
    const error = new ApiError(422, {
      error: "validation_error",
      detail: [
        { field: "cron", message: "invalid cron expression '0 99 * * *'" },
        { field: "timezone", message: "invalid time zone 'Mars/X'" },
      ],
    });
    expect(previewErrors(error)).toEqual({
      cronError: "invalid cron expression '0 99 * * *'",
      timezoneError: "invalid time zone 'Mars/X'",
      otherError: null,
    });
  });
  it("has nothing to say without an error", () => {
    expect(previewErrors(null)).toEqual({ cronError: null, timezoneError: null, otherError: null });
  });
});

describe("useDebouncedValue", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("gives the value only once it stayed the same for the delay", () => {
    vi.useFakeTimers();
    const { result, rerender } = renderHook(({ value }) => useDebouncedValue(value), { initialProps: { value: "0 3 * * *" } });
    rerender({ value: "0 4 * * *" });
    act(() => vi.advanceTimersByTime(PREVIEW_DELAY_MS - 50));
    rerender({ value: "0 5 * * *" }); // still typing: the timer starts again
    act(() => vi.advanceTimersByTime(PREVIEW_DELAY_MS - 50));
    expect(result.current).toBe("0 3 * * *");
    act(() => vi.advanceTimersByTime(50));
    expect(result.current).toBe("0 5 * * *");
  });
});

describe("cronInWords", () => {
  it("says a schedule in plain words, in 24-hour time", () => {
    expect(cronInWords("30 2 * * 1-5")).toBe("At 02:30, Monday through Friday");
    expect(cronInWords(" 0 * * * * ")).toBe("Every hour");
  });

  it("says nothing for what is not a cron expression", () => {
    expect(cronInWords("")).toBeNull();
    expect(cronInWords("61 * * * *")).toBeNull();
    expect(cronInWords("every day")).toBeNull();
  });

  it("has presets that are valid expressions", () => {
    for (const preset of CRON_PRESETS) expect(cronInWords(preset.cron)).not.toBeNull();
  });
});
