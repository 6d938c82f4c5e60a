import { useQuery } from "@tanstack/react-query";
import { Link } from "react-router-dom";
import { api } from "../api/client";
import { unwrap } from "../api/errors";
import { useCan } from "../auth/session";
import { PlanRow } from "../components/plans/PlanRow";
import { EmptyState, ErrorBanner, Loading, Page } from "../components/ui";
import "../components/plans/plans.css";
import { DataTable } from "../components/DataTable";

/** /plans: every plan with its schedule, targets, last and next run, and what the caller may do. */
export function PlansPage() {
  const can = useCan();
  const mayCreate = can("POST", "/plans");
  // A role with no action on plans (viewer) gets no empty Actions column.
  const mayAct = ["POST /jobs", "POST /plans/{plan_id}/enable", "POST /plans/{plan_id}/disable", "PUT /plans/{plan_id}", "DELETE /plans/{plan_id}"]
    .some((route) => can(...(route.split(" ") as [string, string])));
  const plans = useQuery({
    queryKey: ["plans"],
    queryFn: async () => unwrap(await api.GET("/plans")),
    // The last run's status and the next fire time move on their own.
    refetchInterval: 15_000,
  });

  return (
    <Page
      title="Plans"
      actions={
        mayCreate ? (
          <Link className="button primary" to="/plans/new">
            New plan
          </Link>
        ) : null
      }
    >
      <ErrorBanner error={plans.error} />
      {plans.isPending ? (
        <Loading what="Loading plans" />
      ) : plans.data?.length === 0 ? (
        <EmptyState action={mayCreate ? { to: "/plans/new", label: "New plan" } : undefined}>
          No plans yet: a plan backs up volumes on a schedule.
          {mayCreate ? null : " Ask an operator or admin to create one."}
        </EmptyState>
      ) : plans.data ? (
        <DataTable
          label="Plans"
          stack
          headers={["Name", "Host", "Schedule", "Targets", "State", "Last run", "Next run", ...(mayAct ? ["Actions"] : [])]}
        >
          {plans.data.map((plan) => (
            <PlanRow key={plan.id} plan={plan} showActions={mayAct} />
          ))}
        </DataTable>
      ) : null}
    </Page>
  );
}
