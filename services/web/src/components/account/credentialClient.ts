// A client for requests that check the caller's password or an MFA code.
//
// The shared client replays a request after a 401 once the session is renewed; but these
// routes also answer 401 for a wrong password or code, and a replay would count that
// failure twice against the login brake (and the enrolment's wrong-code limit). Here a 401
// is replayed only when the session itself had expired.
import createClient from "openapi-fetch";
import { API_BASE, csrfToken, refreshSession } from "../../api/client";
import type { paths } from "../../api/schema";

function withCsrf(request: Request): Request {
  const token = csrfToken();
  if (token) request.headers.set("X-CSRF-Token", token);
  return request;
}

async function sessionIsAlive(): Promise<boolean> {
  const probe = await fetch(`${API_BASE}/auth/permissions`, { credentials: "same-origin" });
  return probe.ok;
}

export async function credentialFetch(input: Request): Promise<Response> {
  const spare = input.clone(); // a body can be sent only once
  const response = await fetch(withCsrf(input));
  if (response.status !== 401) return response;
  if (await sessionIsAlive()) return response; // the password or code was wrong
  if (!(await refreshSession())) return response;
  return fetch(withCsrf(spare)); // the refresh rotated the CSRF cookie
}

export const credentialApi = createClient<paths>({ baseUrl: API_BASE, credentials: "same-origin", fetch: credentialFetch });
