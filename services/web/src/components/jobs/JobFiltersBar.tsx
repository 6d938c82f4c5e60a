// The jobs list's filters: status, kind, host, plan.
import type { Schemas } from "../../api/client";
import { Field } from "../ui";
import { JOB_KINDS, JOB_STATUSES, type JobFilters } from "./jobFilters";

export function JobFiltersBar({
  filters,
  onChange,
  hosts,
  plans,
}: {
  filters: JobFilters;
  onChange: (next: JobFilters) => void;
  hosts: readonly Schemas["HostOut"][];
  plans: readonly Schemas["PlanOut"][];
}) {
  const set = (key: keyof JobFilters, value: string) => onChange({ ...filters, [key]: value || undefined });
  return (
    <div className="filters">
      <Field label="Status" htmlFor="jobs-status">
        <select id="jobs-status" value={filters.status ?? ""} onChange={(e) => set("status", e.target.value)}>
          <option value="">any</option>
          {JOB_STATUSES.map((status) => (
            <option key={status} value={status}>
              {status}
            </option>
          ))}
        </select>
      </Field>
      <Field label="Kind" htmlFor="jobs-kind">
        <select id="jobs-kind" value={filters.kind ?? ""} onChange={(e) => set("kind", e.target.value)}>
          <option value="">any</option>
          {JOB_KINDS.map((kind) => (
            <option key={kind} value={kind}>
              {kind}
            </option>
          ))}
        </select>
      </Field>
      <Field label="Host" htmlFor="jobs-host">
        <select id="jobs-host" value={filters.host_id ?? ""} onChange={(e) => set("host_id", e.target.value)}>
          <option value="">any</option>
          {hosts.map((host) => (
            <option key={host.host_id} value={host.host_id}>
              {host.host_id}
            </option>
          ))}
          {filters.host_id && !hosts.some((h) => h.host_id === filters.host_id) ? (
            <option value={filters.host_id}>{filters.host_id}</option>
          ) : null}
        </select>
      </Field>
      <Field label="Plan" htmlFor="jobs-plan">
        <select id="jobs-plan" value={filters.plan_id ?? ""} onChange={(e) => set("plan_id", e.target.value)}>
          <option value="">any</option>
          {plans.map((plan) => (
            <option key={plan.id} value={plan.id}>
              {plan.name}
            </option>
          ))}
          {filters.plan_id && !plans.some((p) => p.id === filters.plan_id) ? (
            <option value={filters.plan_id}>{filters.plan_id}</option>
          ) : null}
        </select>
      </Field>
    </div>
  );
}
