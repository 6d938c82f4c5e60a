// What to refetch after a change, so every page shows it (lists, the dashboard, protection).
import type { QueryClient } from "@tanstack/react-query";

/** A plan was created, changed, enabled, disabled or deleted: the plans list and the plan, the
 *  dashboard (next runs, coverage) and the resources' protection all depend on it. */
export function afterPlanChange(client: QueryClient, planId?: string): Promise<unknown> {
  return Promise.all([
    client.invalidateQueries({ queryKey: ["plans"] }),
    planId ? client.invalidateQueries({ queryKey: ["plan", planId] }) : null,
    client.invalidateQueries({ queryKey: ["dashboard"] }),
    client.invalidateQueries({ queryKey: ["resources"] }),
  ]);
}

/** A job was started (backup, verify, restore): job lists and the dashboard's counts. */
export function afterJobStarted(client: QueryClient): Promise<unknown> {
  return Promise.all([
    client.invalidateQueries({ queryKey: ["jobs"] }),
    client.invalidateQueries({ queryKey: ["dashboard"] }),
  ]);
}
