// The gateway's errors are `{"error": name, "detail": ...}`: a 422 from request validation
// lists `{field, message}` items; a refused value (Invalid) is a sentence, often "field: why".

export interface FieldErrors {
  /** Messages by field path ("schedule.cron", "retention.keep_last"), for the form's fields. */
  fields: Record<string, string>;
  /** What does not belong to one field, for the top of the form. */
  general: string | null;
}

interface ProblemBody {
  error?: string;
  detail?: unknown;
}

/** Split an API error body into messages per field and one general message. */
export function fieldErrors(body: unknown, knownFields: readonly string[] = []): FieldErrors {
  const result: FieldErrors = { fields: {}, general: null };
  if (!body || typeof body !== "object") {
    result.general = "The server gave an unexpected answer; try again.";
    return result;
  }
  const { detail } = body as ProblemBody;
  if (Array.isArray(detail)) {
    const loose: string[] = [];
    for (const item of detail) {
      const field = typeof item?.field === "string" ? item.field.replace(/^body\./, "") : "";
      const message = typeof item?.message === "string" ? item.message : String(item);
      if (field && field !== "body") {
        result.fields[field] ??= message;
      } else {
        loose.push(message);
      }
    }
    result.general = loose.length ? loose.join("; ") : null;
    return result;
  }
  if (typeof detail === "string") {
    const match = /^([a-z_][\w.[\]]*): (.+)$/s.exec(detail);
    if (match && (knownFields.length === 0 || knownFields.some((f) => match[1] === f || match[1].startsWith(`${f}.`)))) {
      result.fields[match[1]] = match[2];
    } else {
      result.general = detail;
    }
    return result;
  }
  result.general = "The request was refused.";
  return result;
}

/** One sentence for an error anywhere (a toast, a banner). */
export function errorMessage(body: unknown, fallback = "Something went wrong."): string {
  if (body && typeof body === "object") {
    const { detail } = body as ProblemBody;
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) {
      return detail
        .map((d) => (d?.field ? `${String(d.field).replace(/^body\./, "")}: ${d.message}` : String(d?.message ?? d)))
        .join("; ");
    }
  }
  return fallback;
}

/** Thrown by `unwrap` so TanStack Query sees a failed request as an error. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(errorMessage(body, `Request failed (${status})`));
  }
}

/** The data of an openapi-fetch result, or an ApiError. */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.error !== undefined || !result.response.ok) {
    throw new ApiError(result.response.status, result.error);
  }
  return result.data as T;
}
