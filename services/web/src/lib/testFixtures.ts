// Answers of the API that several tests stub: one copy, so they stay in step with the schema.

/** An archive of the volume dev-data, as GET /artifacts lists it. */
export function artifactOut(fields: Record<string, unknown> = {}) {
  return {
    id: "a1",
    job_id: "j0",
    host_id: "vm",
    plan_id: null,
    resource: { kind: "volume", name: "dev-data" },
    role: "dev-data",
    kind: "volume",
    path: "volumes/dev-data/x.tar.zst",
    size_bytes: 53825,
    raw_bytes: 592896,
    file_count: 4,
    sha256: "e94a9b7c1c5f87e4e1859360840b077d9325810542f7d1aea753a43057611eb3",
    compression: "zstd",
    created_at: "2026-11-26T19:28:25Z",
    state: "available",
    local_present: true,
    verified: false,
    verified_at: null,
    verify_failed_at: null,
    verify_error: null,
    pruned_at: null,
    copies: 1,
    ...fields,
  };
}
