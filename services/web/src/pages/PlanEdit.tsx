import { useQuery } from "@tanstack/react-query";
import { Link, useParams, useSearchParams } from "react-router-dom";
import { api } from "../api/client";
import { unwrap } from "../api/errors";
import { useCan } from "../auth/session";
import { PlanEditor } from "../components/plans/PlanEditor";
import { formFromPlan, newPlanFormFromSearch } from "../components/plans/planForm";
import { ErrorBanner, Loading, Notice, Page } from "../components/ui";

/** /plans/new (?host=…&volume=… or &container=… to start with that resource) and /plans/:planId: create or edit a plan (read-only for a role that cannot change it). */
export function PlanEditPage() {
  const { planId } = useParams();
  const [search] = useSearchParams();
  const can = useCan();
  const existing = planId !== undefined && planId !== "new";
  const plan = useQuery({
    queryKey: ["plan", planId],
    queryFn: async () => unwrap(await api.GET("/plans/{plan_id}", { params: { path: { plan_id: planId! } } })),
    enabled: existing,
  });

  if (!existing && !can("POST", "/plans")) {
    // An empty form nobody can save helps no one: say so and who can.
    return (
      <Page title="New plan">
        <Notice kind="info">
          Your role cannot create plans; an operator or admin can. <Link to="/plans">Back to plans</Link>
        </Notice>
      </Page>
    );
  }
  if (!existing) {
    return (
      <Page title="New plan">
        <PlanEditor planId={null} initial={newPlanFormFromSearch(search)} />
      </Page>
    );
  }
  if (plan.isPending) return <Loading what="Loading the plan" />;
  if (plan.isError) {
    return (
      <Page title="Plan">
        <ErrorBanner error={plan.error} />
      </Page>
    );
  }
  return (
    <Page title={`Plan ${plan.data.name}`}>
      {plan.data.deleted_at ? <Notice kind="warning">This plan was deleted; its backups stay.</Notice> : null}
      {/* keyed by revision: a plan saved elsewhere starts the form afresh */}
      <PlanEditor key={`${plan.data.id}-${plan.data.revision}`} planId={plan.data.id} initial={formFromPlan(plan.data)} />
    </Page>
  );
}
