import { describe, expect, it } from "vitest";
import { temporaryPassword } from "./temporaryPassword";

describe("temporaryPassword", () => {
  it("is long enough for the password policy and grouped for reading", () => {
    const password = temporaryPassword();
    expect(password).toMatch(/^([a-zA-Z2-9]{4}-){4}[a-zA-Z2-9]{4}$/);
    expect(password.length).toBeGreaterThanOrEqual(12);
  });

  it("leaves out characters that look alike", () => {
    const password = temporaryPassword(200);
    expect(password).not.toMatch(/[01lIoO]/);
  });

  it("differs each time", () => {
    expect(temporaryPassword()).not.toBe(temporaryPassword());
  });
});
