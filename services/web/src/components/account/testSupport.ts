// For tests that go through the typed API client with a stubbed fetch. Import this FIRST:
// openapi-fetch takes `Request` when the client is created, and Node's Request refuses the
// relative "/api/..." URLs a browser resolves against the page.
import { vi } from "vitest";

const NodeRequest = globalThis.Request;
class PageRequest extends NodeRequest {
  constructor(input: RequestInfo | URL, init?: RequestInit) {
    super(typeof input === "string" ? new URL(input, window.location.href).href : input, init);
  }
}
globalThis.Request = PageRequest as typeof Request;

export function answer(status: number, body?: unknown): Response {
  if (body === undefined) return new Response(null, { status });
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

export interface SeenRequest {
  method: string;
  path: string;
  search: string;
  body: unknown;
}

/** Stub fetch: `route` answers each request (or throws); returns the requests it saw. */
export function stubFetch(route: (request: SeenRequest) => Response | undefined): SeenRequest[] {
  const seen: SeenRequest[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: Request | string, init?: RequestInit) => {
      const request = typeof input === "string" ? new Request(input, init) : input;
      const url = new URL(request.url);
      const text = request.method === "GET" ? "" : await request.clone().text();
      const entry = { method: request.method, path: url.pathname, search: url.search, body: text ? JSON.parse(text) : null };
      seen.push(entry);
      const response = route(entry);
      if (!response) throw new Error(`unexpected request ${entry.method} ${entry.path}`);
      return response;
    }),
  );
  return seen;
}

/** Answers in order, one per request. */
export function inOrder(...answers: Response[]): (request: SeenRequest) => Response | undefined {
  return () => answers.shift();
}
