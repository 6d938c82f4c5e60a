import { describe, expect, it } from "vitest";
import { ApiError } from "../../api/errors";
import { checkFailure, errorFor, formErrors, generalError } from "./common";

describe("checkFailure", () => {
  it("says plainly that no uploader answered (503)", () => {
    const error = new ApiError(503, { error: "no_responder", detail: "no uploader answered" });
    expect(checkFailure(error, "uploader")).toMatch(/^No uploader answered the check/);
  });
  it("passes other refusals through", () => {
    expect(checkFailure(new ApiError(403, { error: "forbidden", detail: "not allowed" }), "notifier")).toBe("not allowed");
  });
});

describe("field errors", () => {
  const errors = formErrors(
    new ApiError(422, {
      error: "validation_error",
      detail: [
        { field: "recipients.1", message: "not an address" },
        { field: "bucket", message: "bad bucket" },
        { field: "part_size_bytes", message: "too small" },
      ],
    }),
    [],
  );
  it("finds a field's message, including its items'", () => {
    expect(errorFor(errors, "recipients")).toBe("not an address");
    expect(errorFor(errors, "bucket")).toBe("bad bucket");
    expect(errorFor(errors, "host")).toBeNull();
  });
  it("puts messages without a field on the form at the top", () => {
    expect(generalError(errors, ["recipients", "bucket"])).toBe("part_size_bytes: too small");
  });
});
