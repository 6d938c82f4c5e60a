import { describe, expect, it } from "vitest";
import { errorMessage, fieldErrors } from "./errors";

describe("fieldErrors", () => {
  it("maps a validation list to fields, dropping the body. prefix", () => {
    const errors = fieldErrors({
      error: "validation_error",
      detail: [
        { field: "schedule.cron", message: "not a cron expression" },
        { field: "body", message: "give a name" },
      ],
    });
    expect(errors.fields).toEqual({ "schedule.cron": "not a cron expression" });
    expect(errors.general).toBe("give a name");
  });

  it("reads a refused value's 'field: why' sentence as that field's error", () => {
    const errors = fieldErrors({ error: "invalid", detail: "retention: keep at least one" }, ["retention", "name"]);
    expect(errors.fields).toEqual({ retention: "keep at least one" });
    expect(errors.general).toBeNull();
  });

  it("keeps a sentence about no known field as the general message", () => {
    const errors = fieldErrors({ error: "conflict", detail: "a plan named x exists" }, ["name"]);
    expect(errors.fields).toEqual({});
    expect(errors.general).toBe("a plan named x exists");
  });

  it("says something for a body that is not an API error", () => {
    expect(fieldErrors("<html>").general).toMatch(/unexpected/);
    expect(errorMessage(undefined, "fallback")).toBe("fallback");
  });
});
