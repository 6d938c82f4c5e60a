// The state of every backup at a glance: what needs attention first, then the last day's jobs,
// hosts and coverage, what runs next, verification per plan, storage over time, and the jobs running now.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link } from "react-router-dom";
import { api, type Schemas } from "../api/client";
import { unwrap } from "../api/errors";
import { useCan } from "../auth/session";
import {
  acknowledgedBy,
  acknowledgeHint,
  attentionAction,
  attentionLabel,
  nothingNeedsAttention,
  type AttentionItem,
} from "../components/dashboard/attention";
import { StorageChart } from "../components/dashboard/StorageChart";
import { GettingStarted } from "../components/dashboard/GettingStarted";
import "../components/dashboard/dashboard.css";
import { Card, EmptyState, ErrorBanner, Loading, Page, ProgressBar, StatusBadge } from "../components/ui";
import { formatBytes, formatDateTime, formatRelative, shortId } from "../lib/format";
import { useJobEvents } from "../lib/jobEvents";
import { DataTable } from "../components/DataTable";

type Dashboard = Schemas["Dashboard"];

export function DashboardPage() {
  const can = useCan();
  const summary = useQuery({
    queryKey: ["dashboard"],
    queryFn: async () => unwrap(await api.GET("/dashboard")),
    refetchInterval: 30_000,
  });
  return (
    <Page title="Dashboard">
      <ErrorBanner error={summary.error} />
      {summary.data ? <Summary data={summary.data} canCreatePlan={can("POST", "/plans")} /> : null}
      {summary.isPending ? <Loading what="Loading the dashboard" /> : null}
      <RunningJobs />
    </Page>
  );
}

function Summary({ data, canCreatePlan }: { data: Dashboard; canCreatePlan: boolean }) {
  const newPlan = canCreatePlan ? { to: "/plans/new", label: "Create a plan" } : undefined;
  const noHosts = data.hosts.online + data.hosts.offline === 0;
  // On a phone (dashboard.css) the cards stack in one column, the last day's jobs and what needs
  // attention first.
  return (
    <div className="dashboard">
      <GettingStarted checklist={data.getting_started} />
      <Attention data={data} canCreatePlan={canCreatePlan} />
      <div className="grid">
        <Card title="Jobs, last 24 h" className="last-day">
          <StatPair
            first={{ value: data.jobs_24h.succeeded, label: "succeeded" }}
            second={{ value: data.jobs_24h.failed, label: "failed", bad: data.jobs_24h.failed > 0 }}
            third={{ value: data.jobs_24h.running, label: "running" }}
          />
          {data.jobs_24h.failed > 0 ? <Link to="/jobs?status=failed">See failed jobs</Link> : <Link to="/jobs">See jobs</Link>}
        </Card>
        <Card title="Hosts">
          {noHosts ? (
            <p className="hint">No host has reported yet: start the executor on a Docker host.</p>
          ) : (
            <StatPair
              first={{ value: data.hosts.online, label: "online" }}
              second={{ value: data.hosts.offline, label: "offline", bad: data.hosts.offline > 0 }}
            />
          )}
        </Card>
        <Card title="Volumes">
          <StatPair
            first={{ value: data.volumes.protected, label: "protected" }}
            second={{ value: data.volumes.unprotected, label: "unprotected", bad: data.volumes.unprotected > 0 }}
          />
          <Link to="/resources">See resources</Link>
        </Card>
      </div>
      <div className="grid">
        <Card title="Next scheduled runs">
          {data.next_runs.length === 0 ? (
            <EmptyState action={newPlan}>
              {data.plans.length === 0
                ? canCreatePlan
                  ? "No backup plans yet. Create a plan to back up your volumes on a schedule."
                  : "No backup plans yet. An operator or admin can create one to back up your volumes on a schedule."
                : canCreatePlan
                  ? "No enabled plan is scheduled: enable a plan to have it run."
                  : "No enabled plan is scheduled: an operator or admin can enable one."}
            </EmptyState>
          ) : (
            <DataTable headers={["Plan", "Host", "Runs"]}>
              {data.next_runs.map((run) => (
                <tr key={run.plan_id}>
                  <td>
                    <Link to={`/plans/${run.plan_id}`}>{run.plan_name}</Link>
                  </td>
                  <td>{run.host_id}</td>
                  <td>
                    {formatRelative(run.fires_at)}{" "}
                    <span className="hint">
                      ({formatDateTime(run.fires_at, run.timezone)} {run.timezone})
                    </span>
                  </td>
                </tr>
              ))}
            </DataTable>
          )}
        </Card>
        <Card title="Last verified backup per plan">
          {data.plans.length === 0 ? (
            <EmptyState action={newPlan}>
              {canCreatePlan
                ? "No backup plans yet. Create a plan, then its backups are checked here."
                : "No backup plans yet. Once an operator or admin creates one, its backups are checked here."}
            </EmptyState>
          ) : (
            <DataTable headers={["Plan", "Last backup", "Last verified"]}>
              {data.plans.map((plan) => (
                <tr key={plan.plan_id}>
                  <td>
                    <Link to={`/plans/${plan.plan_id}`}>{plan.plan_name}</Link>
                    {plan.enabled ? null : <StatusBadge status="disabled" />}
                  </td>
                  <td title={formatDateTime(plan.last_backup_at)}>{formatRelative(plan.last_backup_at)}</td>
                  <td>
                    {plan.last_verified_at ? (
                      <Link
                        to={`/backups?plan=${encodeURIComponent(plan.plan_id)}`}
                        title={formatDateTime(plan.last_verified_at)}
                      >
                        {formatRelative(plan.last_verified_at)}
                      </Link>
                    ) : (
                      <StatusBadge status="unprotected" label="never verified" />
                    )}
                  </td>
                </tr>
              ))}
            </DataTable>
          )}
        </Card>
      </div>
      <Card title="Storage used, last 30 days">
        {data.storage.every((day) => day.total_bytes === 0) ? (
          <EmptyState action={data.plans.length === 0 ? newPlan : undefined}>
            No archives kept yet: storage shows here once a backup has run.
          </EmptyState>
        ) : (
          <StorageChart days={data.storage} />
        )}
      </Card>
    </div>
  );
}

function Attention({ data, canCreatePlan }: { data: Dashboard; canCreatePlan: boolean }) {
  const can = useCan();
  const mayAcknowledge = can("POST", "/dashboard/attention/acknowledgements");
  const mayTakeBack = can("DELETE", "/dashboard/attention/acknowledgements");
  const [showAcknowledged, setShowAcknowledged] = useState(false);
  const client = useQueryClient();
  const refresh = () => client.invalidateQueries({ queryKey: ["dashboard"] });
  const acknowledge = useMutation({
    // `at` as read: a failure that came after the page was read is not acknowledged with it.
    mutationFn: async (item: AttentionItem) =>
      unwrap(await api.POST("/dashboard/attention/acknowledgements", { body: { key: item.key, at: item.at } })),
    onSettled: refresh,
  });
  const takeBack = useMutation({
    mutationFn: async (key: string) =>
      unwrap(await api.DELETE("/dashboard/attention/acknowledgements", { params: { query: { key } } })),
    onSettled: refresh,
  });
  const busy = acknowledge.isPending || takeBack.isPending;
  return (
    <Card title="Needs attention" className="attention">
      <ErrorBanner error={acknowledge.error ?? takeBack.error} />
      {data.attention.length === 0 ? (
        <p role="status">
          {nothingNeedsAttention(
            data.acknowledged_total,
            data.getting_started.complete ? 0 : data.getting_started.unprotected_volumes,
          )}
        </p>
      ) : (
        <>
          <ul className="attention-list" aria-label="Needs attention">
            {data.attention.map((item) => {
              const action = attentionAction(item, canCreatePlan);
              const hintId = `acknowledge-${item.key}`;
              return (
                <li key={item.key}>
                  <StatusBadge
                    status={item.kind === "unprotected_volume" || item.kind === "low_space" ? "unprotected" : "failed"}
                    label={attentionLabel(item)}
                  />
                  <span className="attention-message">{item.message}</span>
                  {item.at ? (
                    <span className="hint" title={formatDateTime(item.at)}>
                      {formatRelative(item.at)}
                    </span>
                  ) : null}
                  <span className="attention-actions">
                    <Link to={action.to}>{action.label}</Link>
                    {mayAcknowledge ? (
                      <>
                        <button
                          type="button"
                          className="small"
                          aria-describedby={hintId}
                          disabled={busy}
                          onClick={() => acknowledge.mutate(item)}
                        >
                          Acknowledge
                        </button>
                        <span id={hintId} hidden>
                          {acknowledgeHint(item)}
                        </span>
                      </>
                    ) : null}
                  </span>
                </li>
              );
            })}
          </ul>
          {data.attention_total > data.attention.length ? (
            <p className="hint">
              {data.attention_total - data.attention.length} more not shown: see <Link to="/jobs?status=failed">failed jobs</Link>{" "}
              and <Link to="/resources">resources</Link>.
            </p>
          ) : null}
        </>
      )}
      {data.acknowledged_total > 0 ? (
        <div className="acknowledged">
          <button
            type="button"
            className="link"
            aria-expanded={showAcknowledged}
            aria-controls="acknowledged-list"
            onClick={() => setShowAcknowledged((shown) => !shown)}
          >
            {showAcknowledged ? "Hide acknowledged" : `Show acknowledged (${data.acknowledged_total})`}
          </button>
          {showAcknowledged ? (
            <ul className="attention-list" id="acknowledged-list" aria-label="Acknowledged">
              {data.acknowledged.map((item) => (
                <li key={item.key}>
                  <StatusBadge status="disabled" label={attentionLabel(item)} />
                  <span className="attention-message">{item.message}</span>
                  <span className="hint" title={item.acknowledged_at ? formatDateTime(item.acknowledged_at) : undefined}>
                    {acknowledgedBy(item, formatRelative)}
                  </span>
                  {mayTakeBack ? (
                    <button
                      type="button"
                      className="small"
                      disabled={busy}
                      onClick={() => takeBack.mutate(item.key)}
                    >
                      Take back
                    </button>
                  ) : null}
                </li>
              ))}
            </ul>
          ) : null}
          {showAcknowledged && data.acknowledged_total > data.acknowledged.length ? (
            <p className="hint">{data.acknowledged_total - data.acknowledged.length} more acknowledged not shown.</p>
          ) : null}
        </div>
      ) : null}
    </Card>
  );
}

interface Stat {
  value: number;
  label: string;
  bad?: boolean;
}

function StatPair({ first, second, third }: { first: Stat; second: Stat; third?: Stat }) {
  return (
    <div className="stat-pair">
      {[first, second, third].map((stat) =>
        stat ? (
          <div key={stat.label}>
            <div className={`stat ${stat.bad ? "bad" : ""}`}>{stat.value}</div>
            <div className="stat-label">{stat.label}</div>
          </div>
        ) : null,
      )}
    </div>
  );
}

function RunningJobs() {
  useJobEvents();
  const running = useQuery({
    queryKey: ["jobs", "running"],
    queryFn: async () => unwrap(await api.GET("/jobs", { params: { query: { status: "running" } } })),
    refetchInterval: 30_000,
  });
  const jobs = (running.data?.items ?? []).filter((job) => job.status === "running");
  return (
    <Card title="Running now">
      <ErrorBanner error={running.error} />
      {running.isPending ? <Loading what="Loading running jobs" /> : null}
      {running.data && jobs.length === 0 ? <p role="status">No job is running.</p> : null}
      {jobs.map((job) => (
        <div className="running-job" key={job.id}>
          <Link to={`/jobs/${job.id}`}>
            {job.kind} {job.resource_name ?? shortId(job.id)} on {job.host_id}
          </Link>
          <ProgressBar done={job.bytes_done} total={job.bytes_total} />
          <span className="hint">
            {job.phase} · {formatBytes(job.bytes_done)}
            {job.bytes_total ? ` of ${formatBytes(job.bytes_total)}` : ""}
          </span>
        </div>
      ))}
    </Card>
  );
}
