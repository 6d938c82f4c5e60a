// The getting-started checklist of a new installation (GET /dashboard's getting_started): each
// step ticked with what proves it, or with a link to the page where it is done when the caller's
// role may do it there (else who can); the volumes no plan backs up as one line. Nothing once complete.
import { Link } from "react-router-dom";
import type { Schemas } from "../../api/client";
import { useCan } from "../../auth/session";
import { formatDateTime, formatRelative } from "../../lib/format";
import { Card } from "../ui";
import "./gettingStarted.css";

type Checklist = Schemas["GettingStarted"];
type Step = Schemas["GettingStartedStep"];
type Can = ReturnType<typeof useCan>;

/** Where an undone step is done, for this role: a link, or a sentence saying who can do it. */
type StepAction = { to: string; label: string } | { note: string } | null;

export function stepAction(step: Step, can: Can): StepAction {
  switch (step.step) {
    case "host_online":
      return step.host_id ? { to: `/resources?host=${encodeURIComponent(step.host_id)}`, label: "View host" } : null;
    case "storage_target":
      return can("POST", "/settings/targets")
        ? { to: "/settings", label: "Add an S3 target in Settings" }
        : { note: "An admin adds it in Settings." };
    case "first_plan":
      if (step.plan_id && can("POST", "/plans/{plan_id}/enable")) return { to: "/plans", label: "Enable it on Plans" };
      return can("POST", "/plans")
        ? { to: "/plans/new", label: "Create a plan" }
        : { note: "An operator or admin creates it." };
    case "first_backup":
      if (!step.plan_id) return null; // nothing to run before there is a plan
      return can("POST", "/jobs")
        ? { to: "/plans", label: "Run it now on Plans" }
        : { note: "An operator or admin can run it now; otherwise it runs on its schedule." };
    case "first_verified_backup":
      if (!step.artifact_id) return null; // nothing to verify before a backup
      return can("POST", "/artifacts/{artifact_id}/verify")
        ? { to: step.plan_id ? `/backups?plan=${encodeURIComponent(step.plan_id)}` : "/backups", label: "Verify it on Backups" }
        : { note: "An operator or admin can verify it on Backups." };
  }
}

export function GettingStarted({ checklist }: { checklist: Checklist }) {
  const can = useCan();
  if (checklist.complete) return null;
  const done = checklist.steps.filter((step) => step.done).length;
  const planStepDone = checklist.steps.some((step) => step.step === "first_plan" && step.done);
  const next = checklist.steps.find((step) => !step.done);
  return (
    <Card title="Getting started" className="getting-started">
      <p className="getting-started-progress">
        {done} of {checklist.steps.length} steps done
      </p>
      <ol className="getting-started-steps" aria-label="Getting started">
        {checklist.steps.map((step) => (
          <StepItem
            key={step.step}
            step={step}
            next={step === next}
            action={step.done ? null : stepAction(step, can)}
          />
        ))}
      </ol>
      {checklist.unprotected_volumes > 0 ? (
        <p className="getting-started-volumes">
          {checklist.unprotected_volumes === 1 ? "1 volume is" : `${checklist.unprotected_volumes} volumes are`} not
          backed up yet
          {planStepDone ? (
            <>
              {" "}
              by any enabled plan: <Link to="/resources">see them on Resources</Link>
            </>
          ) : can("POST", "/plans") ? (
            <>
              {" "}
              — <Link to="/plans/new">create your first plan</Link>
            </>
          ) : (
            <>
              {" "}
              — <Link to="/resources">see them on Resources</Link>
            </>
          )}
          .
        </p>
      ) : null}
    </Card>
  );
}

function StepItem({ step, next, action }: { step: Step; next: boolean; action: StepAction }) {
  const id = `getting-started-${step.step}`;
  return (
    <li className={step.done ? "done" : next ? "todo next" : "todo"}>
      {/* A tick the user cannot set: a step is done when the installation proves it. */}
      <input
        type="checkbox"
        id={id}
        checked={step.done}
        readOnly
        aria-readonly="true"
        aria-describedby={`${id}-detail`}
        tabIndex={-1}
        onClick={(event) => event.preventDefault()}
      />
      <label htmlFor={id} className="getting-started-title">
        {step.title}
      </label>
      <span className="getting-started-detail" id={`${id}-detail`}>
        {step.detail}
        {step.done && step.at ? (
          <span title={formatDateTime(step.at)}> · {formatRelative(step.at)}</span>
        ) : null}
      </span>
      {action && "to" in action ? (
        <Link className="getting-started-action" to={action.to}>
          {action.label}
        </Link>
      ) : action ? (
        <span className="getting-started-action note">{action.note}</span>
      ) : null}
    </li>
  );
}
