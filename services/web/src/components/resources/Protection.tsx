// A resource's protection (the plans that back it up) and its newest backup and check.
import { Link } from "react-router-dom";
import type { Schemas } from "../../api/client";
import { useCan } from "../../auth/session";
import { StatusBadge } from "../ui";
import { formatDateTime, formatRelative } from "../../lib/format";

export function ProtectionCell({
  protectedBy,
  newPlanLink,
}: {
  protectedBy: Schemas["ProtectingPlan"][];
  newPlanLink?: string;
}) {
  const can = useCan();
  if (protectedBy.length === 0) {
    return (
      <div>
        <StatusBadge status="unprotected" />
        {newPlanLink && can("POST", "/plans") ? (
          <>
            {" "}
            <Link to={newPlanLink}>Create a plan</Link>
          </>
        ) : null}
      </div>
    );
  }
  return (
    <div>
      <StatusBadge status="protected" />{" "}
      {protectedBy.map((plan, index) => (
        <span key={`${plan.plan_id}-${plan.via_container ?? ""}`}>
          {index > 0 ? ", " : ""}
          <Link to={`/plans/${plan.plan_id}`}>{plan.plan_name}</Link>
          {plan.via_container ? <span className="hint"> (via {plan.via_container})</span> : null}
        </span>
      ))}
    </div>
  );
}

export function LastBackupCell({ backupAt, verifiedAt }: { backupAt: string | null; verifiedAt: string | null }) {
  if (!backupAt) return <span className="hint">never backed up</span>;
  return (
    <div>
      <span title={formatDateTime(backupAt)}>{formatRelative(backupAt)}</span>
      <div className="hint">
        {verifiedAt ? (
          <span title={formatDateTime(verifiedAt)}>verified {formatRelative(verifiedAt)}</span>
        ) : (
          "not verified"
        )}
      </div>
    </div>
  );
}
