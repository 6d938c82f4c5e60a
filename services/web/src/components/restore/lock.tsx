// The restore safety lock: while it is on, previews work and confirmations are refused (423).
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, type Schemas } from "../../api/client";
import { unwrap } from "../../api/errors";
import { useCan } from "../../auth/session";
import { formatDateTime } from "../../lib/format";
import { ErrorBanner } from "../ui";

export type RestoreLock = Schemas["RestoreLockOut"];
export const RESTORE_LOCK_KEY = ["restore-lock"] as const;

export function useRestoreLock() {
  return useQuery({
    queryKey: RESTORE_LOCK_KEY,
    queryFn: async () => unwrap(await api.GET("/restores/lock")),
    refetchInterval: 30_000,
  });
}

/** Lock (with a reason) or lift the lock; the cache gets the answer at once. */
export function useSetRestoreLock() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (body: Schemas["RestoreLockUpdate"]) => unwrap(await api.PUT("/restores/lock", { body })),
    onSuccess: (lock) => client.setQueryData(RESTORE_LOCK_KEY, lock),
  });
}

/** "Restores are locked by <who> since <when>: <reason>". */
export function lockSentence(lock: Pick<RestoreLock, "changed_by" | "changed_at" | "reason">): string {
  const since = lock.changed_at ? ` since ${formatDateTime(lock.changed_at)}` : "";
  const why = lock.reason ? `: ${lock.reason}` : "";
  return `Restores are locked by ${lock.changed_by ?? "an admin"}${since}${why}`;
}

/** The prominent banner on the wizard; `refusal` is a 423's message when the lock came on meanwhile. */
export function RestoreLockBanner({
  lock,
  refusal,
  onLifted,
}: {
  lock: RestoreLock | undefined;
  refusal?: string | null;
  onLifted?: () => void;
}) {
  const can = useCan();
  const lift = useSetRestoreLock();
  if (!lock?.locked && !refusal) return null;
  return (
    <div className="banner error restore-lock" role="alert">
      <strong>{lock?.locked ? lockSentence(lock) : refusal}</strong>
      <p>Previews still work; no restore can start until an admin lifts the lock.</p>
      {can("PUT", "/restores/lock") ? (
        <button type="button" className="danger" disabled={lift.isPending} onClick={() => lift.mutate({ locked: false }, { onSuccess: onLifted })}>
          Lift the lock
        </button>
      ) : null}
      <ErrorBanner error={lift.error} />
    </div>
  );
}
