// What a line of a job's log is, in words: the event codes (`job_started.v1`) are for machines.

const LABELS: Record<string, string> = {
  "gateway.queued": "queued",
  "gateway.cancel_requested": "cancel asked",
  "reconciler.cancelled": "cancelled",
  "reconciler.republished": "sent again",
  job_queued: "queued",
  job_started: "started",
  job_progress: "progress",
  archive_created: "archive written",
  upload_completed: "copied off the host",
  restore_completed: "restored",
  archive_verified: "checked",
  artifacts_pruned: "removed",
  local_copies_removed: "local copies removed",
  job_succeeded: "succeeded",
  job_failed: "failed",
  job_cancelled: "cancelled",
  run_missed: "run missed",
  backup_requested: "backup asked",
  restore_requested: "restore asked",
  verify_requested: "check asked",
  prune_requested: "removal asked",
  delete_requested: "deletion asked",
  fetch_requested: "download asked",
};

/** The words for a log line's type; an unknown code loses its version and underscores. */
export function logLabel(type: string): string {
  const code = type.replace(/\.v\d+$/, "");
  return LABELS[code] ?? code.replace(/[._]/g, " ");
}
