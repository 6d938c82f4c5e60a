import { describe, expect, it } from "vitest";
import { entryUnder, isUnder, unplacedMessages } from "./fieldMessages";

describe("field messages", () => {
  it("finds a field's own message first, else one under it", () => {
    expect(entryUnder({ cron: "bad" }, "cron")).toEqual(["cron", "bad"]);
    expect(entryUnder({ "targets.0.names": "empty" }, "targets")).toEqual(["targets.0.names", "empty"]);
    expect(entryUnder({ "targetsx": "no" }, "targets")).toBeUndefined();
    expect(isUnder("hooks[1]", "hooks")).toBe(true);
  });

  it("lists what no field shows, with its path", () => {
    expect(unplacedMessages({ name: "taken", "options.level": "too high" }, ["name"])).toEqual(["options.level: too high"]);
  });
});
