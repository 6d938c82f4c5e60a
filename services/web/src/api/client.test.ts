import { afterEach, describe, expect, it, vi } from "vitest";
import { sessionFetch } from "./client";

const sessionEnded = () => new Response("{}", { status: 401, headers: { "WWW-Authenticate": 'Cookie realm="DockBack"' } });
const wrongPassword = () => new Response('{"error":"not_authenticated","detail":"the current password is wrong"}', { status: 401 });

function stub(...answers: Response[]) {
  const calls: string[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: Request | string, init?: RequestInit) => {
      const request = typeof input === "string" ? new Request(new URL(input, window.location.href), init) : input;
      calls.push(`${request.method} ${new URL(request.url).pathname}`);
      return answers.shift() ?? new Response("{}", { status: 500 });
    }),
  );
  return calls;
}

const post = (path: string) =>
  new Request(new URL(`/api${path}`, window.location.href), { method: "POST", body: '{"x":1}' });

afterEach(() => vi.unstubAllGlobals());

describe("sessionFetch", () => {
  it("renews an ended session once and sends the request again", async () => {
    const calls = stub(sessionEnded(), new Response("{}", { status: 200 }), new Response(null, { status: 204 }));
    const response = await sessionFetch(post("/users/me/mfa/disable"));
    expect(response.status).toBe(204);
    expect(calls).toEqual(["POST /api/users/me/mfa/disable", "POST /api/auth/refresh", "POST /api/users/me/mfa/disable"]);
  });

  it("never repeats a request whose password was wrong", async () => {
    const calls = stub(wrongPassword());
    const response = await sessionFetch(post("/users/me/password"));
    expect(response.status).toBe(401);
    expect(calls).toEqual(["POST /api/users/me/password"]);
  });

  it("does not retry the login itself", async () => {
    const calls = stub(sessionEnded());
    expect((await sessionFetch(post("/auth/login"))).status).toBe(401);
    expect(calls).toHaveLength(1);
  });
});
