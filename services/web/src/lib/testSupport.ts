// The one support module for tests that go through the typed API client with a stubbed fetch.
// Import it FIRST in a test file: openapi-fetch takes `Request` when the client is created, and
// Node's Request refuses the relative "/api/..." URLs a browser resolves against the page.
import { vi } from "vitest";

const NodeRequest = globalThis.Request;
class PageRequest extends NodeRequest {
  constructor(input: RequestInfo | URL, init?: RequestInit) {
    super(typeof input === "string" ? new URL(input, window.location.href).href : input, init);
  }
}
globalThis.Request = PageRequest as typeof Request;

/** A JSON answer (or an empty one when there is no body). */
export function answer(status: number, body?: unknown): Response {
  if (body === undefined) return new Response(null, { status });
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

/** A JSON answer. */
export function json(status: number, body: unknown): Response {
  return answer(status, body);
}

/** A JSON answer, body first (200 unless told). */
export function jsonBody(body: unknown, status = 200): Response {
  return answer(status, body);
}

export interface SeenRequest {
  method: string;
  path: string;
  search: string;
  body: unknown;
}

function requestOf(input: Request | string, init?: RequestInit): Request {
  return typeof input === "string" ? new Request(input, init) : input;
}

/** Stub fetch: `route` answers each request (or throws); returns the requests it saw. */
export function stubFetch(route: (request: SeenRequest) => Response | undefined): SeenRequest[] {
  const seen: SeenRequest[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: Request | string, init?: RequestInit) => {
      const request = requestOf(input, init);
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

/** Stub fetch: `route` answers by "METHOD /path" (without /api); returns the keys asked for. */
export function stubApi(route: (key: string, url: URL) => Response | undefined): string[] {
  const seen: string[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: Request | string, init?: RequestInit) => {
      const request = requestOf(input, init);
      const url = new URL(request.url);
      const key = `${request.method} ${url.pathname.replace(/^\/api/, "")}`;
      seen.push(key);
      const response = route(key, url);
      if (!response) throw new Error(`unexpected request ${key}`);
      return response;
    }),
  );
  return seen;
}

/** EventSource that never sends anything (jsdom has none). */
export class SilentEventSource {
  onopen: (() => void) | null = null;
  onerror: (() => void) | null = null;
  constructor(readonly url: string) {}
  addEventListener(): void {}
  close(): void {}
}
