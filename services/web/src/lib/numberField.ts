// Numbers typed into forms. A field holds the text as typed (an emptied field stays empty while
// the user types); the number is read, and checked against the API's bounds, only on save, with a
// message that names the field. Nothing is ever replaced by a default behind the user's back.

export interface NumberRule {
  /** The field's label, as the form shows it: the message starts with it. */
  label: string;
  min: number;
  max: number;
  /** Whole numbers only (the API's integers). */
  integer?: boolean;
  /** Greater than `min`, not equal to it (a timeout of 0 s means nothing). */
  aboveMin?: boolean;
  /** Empty is allowed (and means "not set"). */
  optional?: boolean;
}

/** What the user must type, e.g. "Keep last: enter a whole number from 0 to 10000". */
export function numberAdvice(rule: NumberRule): string {
  const kind = rule.integer ? "a whole number" : "a number";
  const range = rule.aboveMin ? `above ${rule.min} and up to ${rule.max}` : `from ${rule.min} to ${rule.max}`;
  return `${rule.label}: enter ${kind} ${range}`;
}

/** The number typed, or null when the text is not one (empty included). */
export function parseNumber(text: string): number | null {
  const trimmed = text.trim();
  if (trimmed === "") return null;
  const value = Number(trimmed);
  return Number.isFinite(value) ? value : null;
}

/** Why the text is not an acceptable value, or null when it is. */
export function numberProblem(text: string, rule: NumberRule): string | null {
  if (text.trim() === "") return rule.optional ? null : numberAdvice(rule);
  const value = parseNumber(text);
  if (value === null) return numberAdvice(rule);
  if (rule.integer && !Number.isInteger(value)) return numberAdvice(rule);
  if (rule.aboveMin ? value <= rule.min : value < rule.min) return numberAdvice(rule);
  if (value > rule.max) return numberAdvice(rule);
  return null;
}
