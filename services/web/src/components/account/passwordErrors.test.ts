import { describe, expect, it } from "vitest";
import { checkNewPasswords, passwordChangeErrors } from "./passwordErrors";

describe("password change errors", () => {
  it("wants the new password twice the same", () => {
    expect(checkNewPasswords("a-long-password", "a-long-passwort")).toEqual({ repeat: "The two new passwords are not the same." });
    expect(checkNewPasswords("same", "same")).toEqual({});
  });

  it("puts a wrong current password next to that field", () => {
    expect(passwordChangeErrors(401, { error: "not_authenticated", detail: "the current password is wrong" })).toEqual({
      current: "the current password is wrong",
    });
  });

  it("puts the policy's sentence next to the new password", () => {
    expect(passwordChangeErrors(422, { error: "invalid", detail: "the password must be at least 12 characters long" })).toEqual({
      next: "the password must be at least 12 characters long",
    });
  });

  it("maps a validation list by field", () => {
    const body = { error: "validation_error", detail: [{ field: "current_password", message: "String should have at least 1 character" }] };
    expect(passwordChangeErrors(422, body)).toEqual({ current: "String should have at least 1 character" });
  });

  it("shows anything else at the top", () => {
    expect(passwordChangeErrors(429, { error: "too_many_attempts", detail: "too many failed logins; try again in 8 s" })).toEqual({
      general: "too many failed logins; try again in 8 s",
    });
  });
});
