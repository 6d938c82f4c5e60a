// The restore wizard: pick a backup → choose the target → preview → confirm → follow.
// ?artifact=<id> starts at the target step (with ?path=..., only those paths of a snapshot), ?job=<id> follows a restore.
import { useReducer, useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link, useSearchParams } from "react-router-dom";
import { api, type Schemas } from "../api/client";
import { ApiError, fieldErrors, unwrap } from "../api/errors";
import { useCan } from "../auth/session";
import { ConfirmStep } from "../components/restore/ConfirmStep";
import { FollowStep } from "../components/restore/FollowStep";
import { PickStep } from "../components/restore/PickStep";
import { PreviewStep } from "../components/restore/PreviewStep";
import { TargetStep } from "../components/restore/TargetStep";
import { RESTORE_LOCK_KEY, RestoreLockBanner, useRestoreLock } from "../components/restore/lock";
import {
  STEPS,
  initialWizard,
  originalName,
  restoreTarget,
  suggestFreeName,
  targetKind,
  wizardReducer,
  type Step,
} from "../components/restore/wizard";
import { ErrorBanner, Loading, Notice, Page } from "../components/ui";
import "../components/restore/restore.css";
import { unplacedMessages } from "../lib/fieldMessages";
import { afterJobStarted } from "../lib/invalidate";

export function RestorePage() {
  const [params] = useSearchParams();
  const artifact = params.get("artifact");
  const job = params.get("job");
  const backupJob = params.get("backup");
  const paths = params.getAll("path");
  // A new ?artifact or ?job (a link, the nav) starts the wizard afresh there; ?backup names the
  // backup of the current data the restore takes first, so a reload still links it.
  return (
    <Page title="Restore">
      <RestoreWizard
        key={`${artifact ?? ""}|${job ?? ""}|${paths.join("|")}`}
        artifact={artifact}
        job={job}
        backupJob={backupJob}
        paths={paths}
      />
    </Page>
  );
}

/** The preview's refusals that have no field on the target step, as one sentence ("" for none). */
function otherFieldErrors(fields: Record<string, string>, nameShown: boolean): string {
  return unplacedMessages(fields, nameShown ? ["target.name"] : []).join("; ");
}

function StepList({ current }: { current: Step }) {
  const index = STEPS.findIndex((s) => s.id === current);
  return (
    <ol className="steps" aria-label="Restore steps">
      {STEPS.map((s, i) => (
        <li key={s.id} className={i === index ? "current" : i < index ? "done" : ""} aria-current={i === index ? "step" : undefined}>
          {i + 1}. {s.label}
        </li>
      ))}
    </ol>
  );
}

function RestoreWizard({
  artifact,
  job,
  backupJob,
  paths,
}: {
  artifact: string | null;
  job: string | null;
  backupJob: string | null;
  /** A snapshot's files or directories to restore alone (none: all of it). */
  paths: string[];
}) {
  const [state, dispatch] = useReducer(wizardReducer, { artifact, job, backupJob }, initialWizard);
  const [, setParams] = useSearchParams();
  const can = useCan();
  const client = useQueryClient();
  const lock = useRestoreLock();
  const [lockRefusal, setLockRefusal] = useState<string | null>(null);
  const locked = !!lock.data?.locked || lockRefusal !== null;

  const chosen = useQuery({
    queryKey: ["artifacts", "detail", state.artifactId],
    queryFn: async () =>
      unwrap(await api.GET("/artifacts/{artifact_id}", { params: { path: { artifact_id: state.artifactId! } } })),
    enabled: state.artifactId !== null && state.step !== "follow",
  });

  const preview = useMutation({
    mutationFn: async (body: Schemas["RestorePreviewRequest"]) => unwrap(await api.POST("/restores/preview", { body })),
    onSuccess: (result) => dispatch({ type: "previewed", preview: result }),
  });
  const confirm = useMutation({
    mutationFn: async (body: Schemas["RestoreConfirm"]) => unwrap(await api.POST("/restores", { body })),
    onSuccess: (accepted) => {
      dispatch({ type: "confirmed", jobId: accepted.job_id, backupJobId: accepted.backup_job_id });
      void afterJobStarted(client);
      setParams(accepted.backup_job_id ? { job: accepted.job_id, backup: accepted.backup_job_id } : { job: accepted.job_id });
    },
    onError: (error) => {
      if (!(error instanceof ApiError)) return;
      if (error.status === 423) {
        setLockRefusal(error.message);
        void client.invalidateQueries({ queryKey: RESTORE_LOCK_KEY });
      } else if ([403, 409, 410].includes(error.status)) {
        dispatch({ type: "tokenRejected", message: `${error.message}. Check the preview again and continue.` });
      }
    },
  });

  // A free name to suggest for a restore beside the original: one nothing of that kind on the host uses.
  const kind = chosen.data ? targetKind(chosen.data) : null;
  const takenNames = useQuery({
    queryKey: ["restore", "taken-names", kind, chosen.data?.host_id ?? ""],
    queryFn: async () => {
      const host = { params: { query: { host_id: chosen.data!.host_id } } };
      const listed =
        kind === "container"
          ? unwrap(await api.GET("/resources/containers", host))
          : unwrap(await api.GET("/resources/volumes", host));
      return listed.map((r) => r.name);
    },
    enabled: !!chosen.data && (kind === "volume" || kind === "container") && state.step === "target",
  });
  const suggestedName = chosen.data ? suggestFreeName(originalName(chosen.data), takenNames.data ?? []) : "";

  const runPreview = () => {
    if (!chosen.data) return;
    const target = restoreTarget(chosen.data, state.mode, state.newName, state.sameStorage);
    if (!target) return;
    preview.reset();
    preview.mutate({ artifact_id: chosen.data.id, target, backup_first: state.backupFirst, paths });
  };

  const previewErrors = preview.error instanceof ApiError ? fieldErrors(preview.error.body, ["target"]) : null;
  const confirmErrors = confirm.error instanceof ApiError ? fieldErrors(confirm.error.body, ["confirm_name"]) : null;
  const confirmHandledElsewhere =
    confirm.error instanceof ApiError && [403, 409, 410, 423].includes(confirm.error.status);

  if (!can("POST", "/restores/preview") && state.step !== "follow") {
    return <Notice>Your role may not restore backups. Ask an operator or an admin.</Notice>;
  }

  const back = () => {
    if (state.step === "target") setParams({});
    dispatch({ type: "back" });
  };

  return (
    <>
      <RestoreLockBanner lock={lock.data} refusal={lockRefusal} onLifted={() => setLockRefusal(null)} />
      {lock.error ? <ErrorBanner error={lock.error} /> : null}
      <StepList current={state.step} />
      {state.notice ? <Notice kind="warning">{state.notice}</Notice> : null}

      {state.step === "pick" ? (
        <PickStep
          locked={locked}
          onPick={(id) => {
            dispatch({ type: "pick", artifactId: id });
            setParams({ artifact: id });
          }}
        />
      ) : null}

      {state.step === "target" || (state.step === "preview" && !state.preview) ? (
        chosen.isPending ? (
          <Loading what="Loading the backup" />
        ) : chosen.error ? (
          <>
            <ErrorBanner error={chosen.error} />
            <Link to="/restore">Pick another backup</Link>
          </>
        ) : state.step === "target" ? (
          <>
            {previewErrors?.general ? <ErrorBanner error={previewErrors.general} /> : null}
            {previewErrors ? <ErrorBanner error={otherFieldErrors(previewErrors.fields, state.mode === "new")} /> : null}
            <TargetStep
              artifact={chosen.data}
              mode={state.mode}
              newName={state.newName}
              sameStorage={state.sameStorage}
              backupFirst={state.backupFirst}
              suggestedName={suggestedName}
              nameError={state.mode === "new" ? (previewErrors?.fields["target.name"] ?? null) : null}
              locked={locked}
              busy={preview.isPending}
              onMode={(mode, suggested) => dispatch({ type: "mode", mode, suggestedName: suggested })}
              onBackupFirst={(value) => dispatch({ type: "backupFirst", value })}
              onNewName={(name) => dispatch({ type: "newName", name })}
              onSameStorage={(value) => dispatch({ type: "sameStorage", value })}
              onPreview={runPreview}
              onBack={back}
            />
          </>
        ) : (
          // The token was refused: preview the same target again.
          <div className="row">
            <ErrorBanner error={preview.error} />
            <button type="button" onClick={back}>
              Back
            </button>
            <button type="button" className="primary" disabled={preview.isPending} onClick={runPreview}>
              {preview.isPending ? "Previewing…" : "Preview again"}
            </button>
          </div>
        )
      ) : null}

      {state.step === "preview" && state.preview ? (
        <PreviewStep preview={state.preview} locked={locked} onContinue={() => dispatch({ type: "continue" })} onBack={back} />
      ) : null}

      {state.step === "confirm" && state.preview ? (
        <>
          {confirm.error && !confirmHandledElsewhere && confirmErrors?.general ? (
            <ErrorBanner error={confirmErrors.general} />
          ) : null}
          {confirm.error && !(confirm.error instanceof ApiError) ? <ErrorBanner error={confirm.error} /> : null}
          {can("POST", "/restores") ? (
            <ConfirmStep
              preview={state.preview}
              locked={locked}
              busy={confirm.isPending}
              nameError={confirmHandledElsewhere ? null : (confirmErrors?.fields.confirm_name ?? null)}
              onConfirm={(typed) =>
                confirm.mutate(typed === null ? { token: state.preview!.token } : { token: state.preview!.token, confirm_name: typed })
              }
              onBack={back}
            />
          ) : (
            <Notice>Your role may preview restores but not start them.</Notice>
          )}
        </>
      ) : null}

      {state.step === "follow" && state.jobId ? (
        <FollowStep
          jobId={state.jobId}
          backupJobId={state.backupJobId}
          onRestart={() => {
            dispatch({ type: "restart" });
            setParams({});
          }}
        />
      ) : null}
    </>
  );
}
