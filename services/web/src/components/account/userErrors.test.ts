import { describe, expect, it } from "vitest";
import { newUserErrors } from "./userErrors";

describe("newUserErrors", () => {
  it("puts a taken username next to the username", () => {
    expect(newUserErrors(409, { error: "conflict", detail: "the username bob is taken (case does not count)" })).toEqual({
      fields: { username: "the username bob is taken (case does not count)" },
      general: null,
    });
  });

  it("maps the validation list by field", () => {
    const body = {
      error: "validation_error",
      detail: [
        { field: "password", message: "String should have at least 12 characters" },
        { field: "username", message: "Use 1-64 letters, digits, '.', '_' or '-'" },
      ],
    };
    expect(newUserErrors(422, body).fields).toEqual({
      password: "String should have at least 12 characters",
      username: "Use 1-64 letters, digits, '.', '_' or '-'",
    });
  });

  it("puts the password policy's sentence next to the password", () => {
    expect(newUserErrors(422, { error: "invalid", detail: "this password is too common: choose another one" }).fields).toEqual({
      password: "this password is too common: choose another one",
    });
  });
});
