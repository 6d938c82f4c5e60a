// For component tests that go through the typed API client with a stubbed fetch. Import this
// FIRST: openapi-fetch takes `Request` when the client is created, and Node's Request refuses
// the relative "/api/..." URLs a browser resolves against the page.
import { vi } from "vitest";

const NodeRequest = globalThis.Request;
class PageRequest extends NodeRequest {
  constructor(input: RequestInfo | URL, init?: RequestInit) {
    super(typeof input === "string" ? new URL(input, window.location.href).href : input, init);
  }
}
globalThis.Request = PageRequest as typeof Request;

export function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

/** Stub fetch: `route` answers by "METHOD /path" (without /api); returns the paths asked for. */
export function stubApi(route: (key: string, url: URL) => Response | undefined): string[] {
  const seen: string[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: Request | string, init?: RequestInit) => {
      const request = typeof input === "string" ? new Request(input, init) : input;
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
