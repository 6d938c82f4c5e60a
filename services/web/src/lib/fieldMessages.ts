// Where the API's field messages ({"schedule.cron": "why"}) go on a form: next to the field they
// name (or the field a nested path is under), the rest at the top. One set of rules for all forms.

/** True when `key` is `field` or a path under it ("targets" covers "targets.0.names", "targets[0]"). */
export function isUnder(key: string, field: string): boolean {
  return key === field || key.startsWith(`${field}.`) || key.startsWith(`${field}[`);
}

/** The message for `field` itself, else the first one under it, with the path it came from. */
export function entryUnder(fields: Record<string, string>, field: string): [path: string, message: string] | undefined {
  if (fields[field]) return [field, fields[field]];
  return Object.entries(fields).find(([key]) => isUnder(key, field));
}

/** "path: message" for the messages no field of the form shows (for the banner at the top). */
export function unplacedMessages(fields: Record<string, string>, placed: readonly string[]): string[] {
  return Object.entries(fields)
    .filter(([key]) => !placed.some((field) => isUnder(key, field)))
    .map(([key, message]) => `${key}: ${message}`);
}
