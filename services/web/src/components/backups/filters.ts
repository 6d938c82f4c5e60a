// The Backups page's filters live in the URL (?host=…&plan=…) so a link can open a filtered view.
import type { Schemas } from "../../api/client";

export type ArtifactQuery = {
  host_id?: string;
  plan_id?: string;
  resource_kind?: Schemas["ArtifactOut"]["resource"]["kind"];
  resource_name?: string;
  verified?: boolean;
};

const KINDS = ["volume", "container", "image"] as const;

/** The API's query from the page's search params; unknown or empty values are left out. */
export function artifactQuery(params: URLSearchParams): ArtifactQuery {
  const query: ArtifactQuery = {};
  const host = params.get("host")?.trim();
  const plan = params.get("plan")?.trim();
  const kind = params.get("kind");
  const resource = params.get("resource")?.trim();
  const verified = params.get("verified");
  if (host) query.host_id = host;
  if (plan) query.plan_id = plan;
  if (kind && (KINDS as readonly string[]).includes(kind)) query.resource_kind = kind as ArtifactQuery["resource_kind"];
  if (resource) query.resource_name = resource;
  if (verified === "yes" || verified === "no") query.verified = verified === "yes";
  return query;
}

/** Search params with one filter changed (an empty value removes it). */
export function withFilter(params: URLSearchParams, name: string, value: string): URLSearchParams {
  const next = new URLSearchParams(params);
  if (value) next.set(name, value);
  else next.delete(name);
  return next;
}
