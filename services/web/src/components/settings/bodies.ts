// Request bodies of the settings forms. Secrets are write-only: the form never holds the stored
// value, so an empty secret field means "keep it" and is left out of the body; a typed value
// replaces it; `clear` (where the API allows it) sends null.
import type { Schemas } from "../../api/client";
import { numberProblem } from "../../lib/numberField";

export interface SecretInput {
  typed: string;
  clear?: boolean;
}

/** Add a secret to a body only when the user typed one (or asked to clear it). */
export function withSecret<T extends object>(body: T, field: string, secret: SecretInput): T {
  if (secret.clear) return { ...body, [field]: null };
  if (secret.typed !== "") return { ...body, [field]: secret.typed };
  return body;
}

const MiB = 1024 * 1024;

export interface TargetForm {
  target_id: string;
  endpoint: string;
  secure: boolean;
  region: string;
  bucket: string;
  prefix: string;
  part_size_mib: string;
  verify_full_read: boolean;
  access_key: string;
  secret_key: string;
}

export function targetForm(target?: Schemas["S3TargetOut"]): TargetForm {
  return {
    target_id: target?.target_id ?? "",
    endpoint: target?.endpoint ?? "",
    secure: target?.secure ?? true,
    region: target?.region ?? "",
    bucket: target?.bucket ?? "",
    prefix: target?.prefix ?? "",
    part_size_mib: String((target?.part_size_bytes ?? 64 * MiB) / MiB),
    verify_full_read: target?.verify_full_read ?? false,
    access_key: "",
    secret_key: "",
  };
}

/** What the form can say before asking the API, by the API's field names. */
export function targetErrors(form: TargetForm): Record<string, string> {
  const problem = numberProblem(form.part_size_mib, { label: "Part size (MiB)", min: 5, max: 5120 });
  return problem ? { part_size_bytes: problem } : {};
}

/** Numbers are read as typed: call once targetErrors(form) is empty. */
function targetFields(form: TargetForm) {
  return {
    endpoint: form.endpoint.trim(),
    secure: form.secure,
    region: form.region.trim() || null,
    bucket: form.bucket.trim(),
    prefix: form.prefix,
    part_size_bytes: Math.round(Number(form.part_size_mib.trim()) * MiB),
    verify_full_read: form.verify_full_read,
  };
}

/** POST /settings/targets: both keys are required, so they are always sent. */
export function targetCreateBody(form: TargetForm): Schemas["S3TargetCreate"] {
  return { target_id: form.target_id.trim(), ...targetFields(form), access_key: form.access_key, secret_key: form.secret_key };
}

/** PUT /settings/targets/{id}: a key left empty keeps the stored one (it cannot be cleared). */
export function targetUpdateBody(form: TargetForm): Schemas["S3TargetUpdate"] {
  let body: Schemas["S3TargetUpdate"] = targetFields(form);
  body = withSecret(body, "access_key", { typed: form.access_key });
  body = withSecret(body, "secret_key", { typed: form.secret_key });
  return body;
}

export interface SmtpForm {
  host: string;
  port: string;
  security: Schemas["SmtpUpdate"]["security"];
  username: string;
  password: string;
  clear_password: boolean;
  from_address: string;
  recipients: string;
  succeeded_digest: boolean;
}

export function smtpForm(smtp?: Schemas["SmtpOut"] | null): SmtpForm {
  return {
    host: smtp?.host ?? "",
    port: String(smtp?.port ?? 587),
    security: smtp?.security ?? "starttls",
    username: smtp?.username ?? "",
    password: "",
    clear_password: false,
    from_address: smtp?.from_address ?? "",
    recipients: (smtp?.recipients ?? []).join(", "),
    succeeded_digest: smtp?.succeeded_digest ?? false,
  };
}

/** "a@x, b@y; c@z" → ["a@x", "b@y", "c@z"] */
export function splitAddresses(text: string): string[] {
  return text
    .split(/[,;\s]+/)
    .map((a) => a.trim())
    .filter(Boolean);
}

export function smtpErrors(form: SmtpForm): Record<string, string> {
  const problem = numberProblem(form.port, { label: "Port", min: 1, max: 65535, integer: true });
  return problem ? { port: problem } : {};
}

/** Numbers are read as typed: call once smtpErrors(form) is empty. */
export function smtpBody(form: SmtpForm): Schemas["SmtpUpdate"] {
  const body: Schemas["SmtpUpdate"] = {
    host: form.host.trim(),
    port: Number(form.port.trim()),
    security: form.security,
    username: form.username.trim() || null,
    from_address: form.from_address.trim(),
    recipients: splitAddresses(form.recipients),
    succeeded_digest: form.succeeded_digest,
  };
  return withSecret(body, "password", { typed: form.password, clear: form.clear_password });
}

export interface WebhookForm {
  webhook_id: string;
  url: string;
  slack_format: boolean;
  succeeded_digest: boolean;
  signing_secret: string;
  clear_secret: boolean;
}

export function webhookForm(webhook?: Schemas["WebhookOut"]): WebhookForm {
  return {
    webhook_id: webhook?.webhook_id ?? "",
    url: "", // write-only: the stored URL never reaches the browser; empty keeps it
    slack_format: webhook?.slack_format ?? false,
    succeeded_digest: webhook?.succeeded_digest ?? false,
    signing_secret: "",
    clear_secret: false,
  };
}

export function webhookCreateBody(form: WebhookForm): Schemas["WebhookCreate"] {
  const body: Schemas["WebhookCreate"] = {
    webhook_id: form.webhook_id.trim(),
    url: form.url.trim(),
    slack_format: form.slack_format,
    succeeded_digest: form.succeeded_digest,
  };
  return withSecret(body, "signing_secret", { typed: form.signing_secret });
}

export function webhookUpdateBody(form: WebhookForm): Schemas["WebhookUpdate"] {
  const body: Schemas["WebhookUpdate"] = {
    slack_format: form.slack_format,
    succeeded_digest: form.succeeded_digest,
  };
  const withUrl = withSecret(body, "url", { typed: form.url.trim() });
  return withSecret(withUrl, "signing_secret", { typed: form.signing_secret, clear: form.clear_secret });
}

/** S3 providers a person picks instead of looking up the endpoint: what each fills in. The
 *  endpoint's `<...>` parts are the person's to replace (an account id, a host). */
export const S3_PROVIDERS = [
  { name: "AWS S3", endpoint: "s3.eu-central-1.amazonaws.com", region: "eu-central-1", secure: true },
  { name: "Backblaze B2", endpoint: "s3.eu-central-003.backblazeb2.com", region: "eu-central-003", secure: true },
  { name: "Wasabi", endpoint: "s3.eu-central-1.wasabisys.com", region: "eu-central-1", secure: true },
  { name: "Cloudflare R2", endpoint: "<account-id>.r2.cloudflarestorage.com", region: "auto", secure: true },
  { name: "MinIO", endpoint: "<minio-host>:9000", region: "us-east-1", secure: false },
] as const;

/** The form with a provider's endpoint, region and https filled in (the rest as typed). */
export function withProvider(form: TargetForm, name: string): TargetForm {
  const provider = S3_PROVIDERS.find((p) => p.name === name);
  return provider ? { ...form, endpoint: provider.endpoint, region: provider.region, secure: provider.secure } : form;
}
