// For tests that go through the typed API client with a stubbed fetch. Import it FIRST:
// openapi-fetch takes `Request` when the client is created, and Node's Request refuses the
// relative "/api/..." URLs a browser resolves against the page.
const NodeRequest = globalThis.Request;
class PageRequest extends NodeRequest {
  constructor(input: RequestInfo | URL, init?: RequestInit) {
    super(typeof input === "string" ? new URL(input, window.location.href).href : input, init);
  }
}
globalThis.Request = PageRequest as typeof Request;
export {}; // a module, so its names do not clash with other copies
