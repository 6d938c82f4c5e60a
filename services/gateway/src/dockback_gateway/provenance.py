"""Which host a fact may speak for: the host of its subject, about that host's own jobs,
artifacts and plans, and nothing else.

NATS permissions let a host publish only on its own subjects (`dockback.events.<host>.>`,
`dockback.hosts.<host>.>`, `dockback.progress.<host>.>`), but the body of a fact names a host,
a job, artifacts and a plan of its own. Without these rules host A's credentials could report
host B's archives pruned, or an upload of B's that never happened. So:

- the host is the one in the subject; a body naming another host is refused (`subject_host`);
- a fact about a job, artifact or plan the catalog holds for another host is refused
  (`job`, `artifact`, `plan`); one the catalog does not know yet belongs to the host that
  reports it (a fact may arrive before the job's `JobQueued`);
- the job's `JobQueued`, which only the scheduler and the gateway may publish, settles whose
  job it is: what another host reported about the job before it was queued (a scheduled job's
  id can be worked out from its plan and fire time) is dropped (`job_claimed`), so a host
  cannot keep another host's next backup from being recorded by claiming its id first;
- a `JobsQueued` (a batch of `JobQueued` items) is refused whole when any item or its request
  names another host than the subject; each item is then checked against the catalog on its
  own (`recording.Recorder`).

A refused fact is acked and dropped (no retry makes it true), logged as a warning and counted
in `dockback_gateway_foreign_facts_total{kind,reason}`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from dockback_contracts import events as ev
from dockback_contracts import subjects
from dockback_gateway.catalog.models import Artifact
from dockback_gateway.jobs.models import Job, JobLogEntry
from dockback_gateway.metrics import FOREIGN_FACTS
from dockback_gateway.plans.models import Plan

log = logging.getLogger(__name__)


_HOST_SCOPED_PREFIXES = (subjects.EVENTS_PREFIX, subjects.HOSTS_PREFIX, subjects.PROGRESS_PREFIX)


def subject_host(subject: str) -> str | None:
    """The host token of a fact's, host state's or progress subject; None for any other subject."""
    for prefix in _HOST_SCOPED_PREFIXES:
        if subject.startswith(prefix + "."):
            host, _, _ = subject[len(prefix) + 1 :].partition(".")
            return host or None
    return None


def refuse(fact: ev.Event, subject: str, reason: str, detail: str) -> None:
    """Log and count a fact refused for `reason`; the caller acks and drops it."""
    FOREIGN_FACTS.labels(fact.type, reason).inc()
    log.warning("refused %s published on %s: %s (%s)", fact.type, subject, detail, reason)


def foreign_to_subject(fact: ev.Event, subject: str) -> str | None:
    """Why `fact` may not be taken from `subject` (`subject_host`), or None when its body's
    host is the subject's."""
    host = subject_host(subject)
    claimed = getattr(fact, "host_id", None)
    if host is None or claimed != host:
        return f"the body names host {claimed!r}, the subject {host!r}"
    if isinstance(fact, ev.JobQueued) and fact.request.host_id != host:
        return f"the queued request is for host {fact.request.host_id!r}"
    if isinstance(fact, ev.JobsQueued):  # every item speaks for the subject's host, or none is taken
        for item in fact.jobs:
            if (foreign := foreign_to_subject(item, subject)) is not None:
                return f"job {item.job_id}: {foreign}"
    return None


def _artifact_ids(fact: ev.Event) -> list[uuid.UUID]:
    match fact:
        case ev.ArchiveCreated():
            return [fact.archive.artifact_id]
        case ev.SnapshotCreated():
            return [fact.snapshot.artifact_id]
        case ev.UploadCompleted() | ev.RestoreCompleted() | ev.ArchiveVerified():
            return [fact.artifact_id]
        case ev.ArtifactsPruned() | ev.LocalCopiesRemoved():
            return list(fact.artifact_ids)
    return []


async def _other_hosts(
    db: AsyncSession,
    column_host: InstrumentedAttribute[str],
    column_id: InstrumentedAttribute[uuid.UUID],
    ids: Iterable[uuid.UUID],
    host: str,
) -> list[str]:
    """`<id> is '<host>'s` for each of `ids` the table holds for another host than `host`."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return []
    rows = await db.execute(select(column_id, column_host).where(column_id.in_(wanted), column_host != host))
    return [f"{row_id} is {row_host!r}'s" for row_id, row_host in rows]


async def foreign_to_catalog(db: AsyncSession, fact: ev.Event) -> tuple[str, str] | None:
    """(reason, detail) when `fact`, already known to come from its body's host, names a job,
    artifact or plan the catalog holds for another host; None when everything it names is that
    host's or not known yet."""
    host = getattr(fact, "host_id", None)
    if host is None:
        return None
    job_id = getattr(fact, "job_id", None)
    # JobQueued only the scheduler and the gateway may publish: it says whose job it is (see
    # take_back_claimed_job), where a host's fact can only claim one
    if (
        job_id is not None
        and not isinstance(fact, ev.JobQueued)
        and (found := await _other_hosts(db, Job.host_id, Job.id, [job_id], host))
    ):
        return "job", f"job {found[0]}"
    if found := await _other_hosts(db, Artifact.host_id, Artifact.id, _artifact_ids(fact), host):
        return "artifact", f"artifact {', '.join(found)}"
    plan_id = getattr(fact, "plan_id", None)
    if plan_id is not None and (found := await _other_hosts(db, Plan.host_id, Plan.id, [plan_id], host)):
        return "plan", f"plan {found[0]}"
    return None


async def take_back_claimed_job(db: AsyncSession, queued: ev.JobQueued) -> None:
    """Before `queued` is recorded: drop the job row, its log and its artifacts if another host's
    facts created them (that host claimed a job it was never given), logged and counted."""
    claimed = await db.scalar(select(Job).where(Job.id == queued.job_id, Job.host_id != queued.host_id))
    if claimed is None:
        return
    refuse(
        queued,
        subjects.subject_for(queued),
        "job_claimed",
        f"job {queued.job_id} is {queued.host_id!r}'s; dropped what {claimed.host_id!r} reported about it first",
    )
    await db.execute(delete(Artifact).where(Artifact.job_id == queued.job_id, Artifact.host_id == claimed.host_id))
    await db.execute(delete(JobLogEntry).where(JobLogEntry.job_id == queued.job_id))
    await db.delete(claimed)
    await db.flush()
