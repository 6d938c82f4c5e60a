import { describe, expect, it } from "vitest";
import { numberProblem, parseNumber } from "./numberField";

describe("numberProblem", () => {
  const keepLast = { label: "Keep last", min: 0, max: 10000, integer: true };

  it("names the field and the range for an empty, fractional, text or out-of-range value", () => {
    for (const text of ["", "  ", "2.5", "abc", "-1", "10001"]) {
      expect(numberProblem(text, keepLast)).toBe("Keep last: enter a whole number from 0 to 10000");
    }
  });

  it("takes a value within the range", () => {
    for (const text of ["0", "3", " 14 ", "10000"]) expect(numberProblem(text, keepLast)).toBeNull();
  });

  it("lets an optional field be empty and a bound be exclusive", () => {
    expect(numberProblem("", { ...keepLast, optional: true })).toBeNull();
    const timeout = { label: "Before 1: timeout (s)", min: 0, max: 86400, aboveMin: true };
    expect(numberProblem("0", timeout)).toBe("Before 1: timeout (s): enter a number above 0 and up to 86400");
    expect(numberProblem("0.5", timeout)).toBeNull();
  });
});

describe("parseNumber", () => {
  it("reads a number and nothing else", () => {
    expect(parseNumber(" 7 ")).toBe(7);
    expect(parseNumber("")).toBeNull();
    expect(parseNumber("7x")).toBeNull();
  });
});
