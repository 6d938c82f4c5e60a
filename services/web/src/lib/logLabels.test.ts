import { describe, expect, it } from "vitest";
import { logLabel } from "./logLabels";

describe("logLabel", () => {
  it("says what a line is in words, never the event code", () => {
    expect(logLabel("job_started.v1")).toBe("started");
    expect(logLabel("archive_created.v1")).toBe("archive written");
    expect(logLabel("gateway.queued")).toBe("queued");
  });

  it("turns a code it does not know into words too", () => {
    expect(logLabel("something_new.v3")).toBe("something new");
    expect(logLabel("service.did_it")).toBe("service did it");
  });
});
