// The restore safety lock, for admins to set (with a reason) and lift; others see its state.
import { useState } from "react";
import { useCan } from "../../auth/session";
import { lockSentence, useRestoreLock, useSetRestoreLock } from "../restore/lock";
import { Card, ErrorBanner, Field, Loading, Notice } from "../ui";
import { useUnsavedChanges } from "../formGuard";
import { errorFor, formErrors, generalError } from "./common";

export function RestoreLockSection() {
  const can = useCan();
  const lock = useRestoreLock();
  const change = useSetRestoreLock();
  const [reason, setReason] = useState("");
  // A reason typed but not yet used to lock asks before navigation drops it.
  const locked = useUnsavedChanges(reason.trim() !== "" && lock.data?.locked === false);
  const admin = can("PUT", "/restores/lock");
  const errors = formErrors(change.error, ["reason", "locked"]);

  return (
    <Card title="Restore lock">
      <p className="muted">While restores are locked, previews still work but no restore can start.</p>
      {lock.isPending ? <Loading what="Reading the lock" /> : null}
      <ErrorBanner error={lock.error} />
      {lock.data ? (
        lock.data.locked ? (
          <div className="banner error" role="status">
            {lockSentence(lock.data)}
          </div>
        ) : (
          <Notice kind="success">Restores are allowed.</Notice>
        )
      ) : null}
      {admin && lock.data ? (
        lock.data.locked ? (
          <button type="button" className="primary" disabled={change.isPending} onClick={() => change.mutate({ locked: false })}>
            Lift the lock
          </button>
        ) : (
          <form
            className="form"
            aria-label="Lock restores"
            onSubmit={(e) => {
              e.preventDefault();
              change.mutate({ locked: true, reason: reason.trim() || null }, {
                  onSuccess: () => {
                    locked();
                    setReason("");
                  },
                });
            }}
          >
            <ErrorBanner error={generalError(errors, ["reason"])} />
            <Field label="Reason" htmlFor="restore-lock-reason" error={errorFor(errors, "reason")} hint="Shown to whoever tries a restore">
              <input id="restore-lock-reason" value={reason} maxLength={500} onChange={(e) => setReason(e.target.value)} />
            </Field>
            <button type="submit" className="danger" disabled={change.isPending}>
              Lock restores
            </button>
          </form>
        )
      ) : null}
      {admin && lock.data?.locked ? <ErrorBanner error={change.error} /> : null}
    </Card>
  );
}
