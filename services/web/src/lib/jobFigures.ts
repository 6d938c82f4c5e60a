// What a job's byte figures say: how far a running job is (a percentage only when the host
// knows the total) and what a finished one went through, as its archives record it.

/** Whole percent done, below 100 until the figure reaches the total; null without a total. */
export function percentDone(done: number, total: number | null | undefined): number | null {
  if (!total || total <= 0) return null;
  return Math.min(100, Math.floor((done / total) * 100));
}

/** The words beside a finished job's figure, or null when it has none worth showing (a prune). */
export function finishedFigureLabel(kind: string, status: string): string | null {
  if (status !== "succeeded") return "Done before it ended";
  switch (kind) {
    case "backup":
      return "Data backed up";
    case "restore":
      return "Data restored";
    case "verify":
      return "Data checked";
    default:
      return null;
  }
}
