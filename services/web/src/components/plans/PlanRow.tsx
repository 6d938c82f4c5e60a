// One plan in the list, with the actions the caller's role allows.
import { Link } from "react-router-dom";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, type Schemas } from "../../api/client";
import { unwrap } from "../../api/errors";
import { useCan } from "../../auth/session";
import { formatDateTime, formatRelative } from "../../lib/format";
import { StatusBadge } from "../ui";
import { describeSelector } from "./planForm";
import { afterJobStarted, afterPlanChange } from "../../lib/invalidate";
import { ConfirmInline } from "../ConfirmInline";

type Plan = Schemas["PlanOut"];

/** "volume dev-data; container label app=db", short enough for a table cell. */
export function targetsSummary(plan: Pick<Plan, "targets">): string {
  return plan.targets.map(describeSelector).join("; ");
}

export function PlanRow({ plan, showActions = true }: { plan: Plan; showActions?: boolean }) {
  const can = useCan();
  const client = useQueryClient();
  const refresh = () => afterPlanChange(client, plan.id);
  const path = { params: { path: { plan_id: plan.id } } };

  const run = useMutation({
    mutationFn: async () => unwrap(await api.POST("/jobs", { body: { plan_id: plan.id } })),
    onSuccess: () => {
      void refresh();
      void afterJobStarted(client);
    },
  });
  const toggle = useMutation({
    mutationFn: async () =>
      unwrap(
        plan.enabled
          ? await api.POST("/plans/{plan_id}/disable", path)
          : await api.POST("/plans/{plan_id}/enable", path),
      ),
    onSuccess: refresh,
  });
  const remove = useMutation({
    mutationFn: async () => unwrap(await api.DELETE("/plans/{plan_id}", path)),
    onSuccess: refresh,
  });
  const failure = run.error ?? toggle.error ?? remove.error;
  const last = plan.last_job;
  const next = plan.next_fire_times[0];

  return (
    <tr>
      <td>
        <Link to={`/plans/${plan.id}`}>{plan.name}</Link>
      </td>
      <td>{plan.host_id}</td>
      <td>
        <code>{plan.cron}</code> <span className="hint">{plan.timezone}</span>
      </td>
      <td>{targetsSummary(plan)}</td>
      <td>
        <StatusBadge status={plan.enabled ? "succeeded" : "disabled"} label={plan.enabled ? "enabled" : "disabled"} />
      </td>
      <td>
        {last ? (
          <>
            <Link to={`/jobs/${last.id}`}>
              <StatusBadge status={last.status} />
            </Link>{" "}
            <span className="hint" title={formatDateTime(last.finished_at ?? last.created_at)}>
              {formatRelative(last.finished_at ?? last.created_at)}
            </span>
          </>
        ) : (
          <span className="hint">never run</span>
        )}
      </td>
      <td title={next ? `Your time: ${formatDateTime(next)}` : undefined}>
        {next ? (
          <>
            {formatDateTime(next, plan.timezone)} <span className="hint">({plan.timezone})</span>
          </>
        ) : (
          <span className="hint">{plan.enabled ? "none" : "disabled"}</span>
        )}
      </td>
      {showActions ? (
        <td>
          <div className="plan-actions">
            {can("POST", "/jobs") ? (
              <button type="button" className="small primary" disabled={run.isPending} onClick={() => run.mutate()}>
                Run now
              </button>
            ) : null}
            {can("POST", plan.enabled ? "/plans/{plan_id}/disable" : "/plans/{plan_id}/enable") ? (
              <button type="button" className="small" disabled={toggle.isPending} onClick={() => toggle.mutate()}>
                {plan.enabled ? "Disable" : "Enable"}
              </button>
            ) : null}
            {can("PUT", "/plans/{plan_id}") ? (
              <Link className="button small" to={`/plans/${plan.id}`}>
                Edit
              </Link>
            ) : null}
            {can("DELETE", "/plans/{plan_id}") ? (
              <ConfirmInline
                label="Delete"
                question={`Delete ${plan.name}? Its backups stay.`}
                groupLabel={`Delete plan ${plan.name}?`}
                confirmLabel="Yes, delete"
                keepLabel="Keep it"
                busy={remove.isPending}
                onConfirm={() => remove.mutate()}
              />
            ) : null}
          </div>
          {run.data ? (
            <div className="hint" role="status">
              Run started: <Link to={`/jobs/${run.data.id}`}>view job</Link>
            </div>
          ) : null}
          {failure ? (
            <div className="field-error" role="alert">
              {failure.message}
            </div>
          ) : null}
        </td>
      ) : null}
    </tr>
  );
}
