import { describe, expect, it } from "vitest";
import { artifactQuery, withFilter } from "./filters";

describe("artifactQuery", () => {
  it("maps the page's params to the API's filters", () => {
    const params = new URLSearchParams("host=vm&plan=p1&kind=volume&resource=dev-data&verified=no");
    expect(artifactQuery(params)).toEqual({
      host_id: "vm",
      plan_id: "p1",
      resource_kind: "volume",
      resource_name: "dev-data",
      verified: false,
    });
  });

  it("leaves out empty and unknown values", () => {
    expect(artifactQuery(new URLSearchParams("host=&kind=bogus&verified=maybe&resource=%20"))).toEqual({});
  });
});

describe("withFilter", () => {
  it("sets and removes one filter, keeping the others", () => {
    const params = new URLSearchParams("host=vm");
    expect(withFilter(params, "plan", "p1").toString()).toBe("host=vm&plan=p1");
    expect(withFilter(params, "host", "").toString()).toBe("");
  });
});
