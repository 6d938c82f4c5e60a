// "Back up now" for one resource: an ad-hoc backup job (POST /jobs), then a link to follow it.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { Link } from "react-router-dom";
import { api } from "../../api/client";
import { ApiError, unwrap } from "../../api/errors";
import { useCan } from "../../auth/session";
import { afterJobStarted } from "../../lib/invalidate";

export interface ResourceToBackUp {
  hostId: string;
  kind: "volume" | "container" | "image";
  name: string;
}

export function BackUpNow({ resource }: { resource: ResourceToBackUp }) {
  const can = useCan();
  const client = useQueryClient();
  const start = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.POST("/jobs", {
          body: { host_id: resource.hostId, resource: { kind: resource.kind, name: resource.name } },
        }),
      ),
    onSuccess: () => afterJobStarted(client),
  });
  if (!can("POST", "/jobs")) return null;
  return (
    <div className="back-up-now">
      <button type="button" className="small" onClick={() => start.mutate()} disabled={start.isPending}>
        {start.isPending ? "Starting…" : "Back up now"}
      </button>
      {start.data ? (
        <span role="status">
          <Link to={`/jobs/${start.data.id}`}>Backup started: view job</Link>
        </span>
      ) : null}
      {start.error ? (
        <span className="field-error" role="alert">
          {start.error instanceof ApiError ? start.error.message : "Could not start the backup; try again."}
        </span>
      ) : null}
    </div>
  );
}
