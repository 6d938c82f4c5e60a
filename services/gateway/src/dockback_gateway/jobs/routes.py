"""Jobs: list, detail, run now, cancel, live progress."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, cast

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from dockback_gateway import patterns
from dockback_gateway.auth.dependencies import CurrentPrincipal, enforce_policy, origin_of, still_open
from dockback_gateway.auth.session_ends import SESSION_ENDS
from dockback_gateway.db import DbSession
from dockback_gateway.errors import DomainError, Invalid
from dockback_gateway.jobs import service
from dockback_gateway.jobs.feed import FEED, News
from dockback_gateway.jobs.policy import ROWS as POLICY  # noqa: F401 - app.py mounts it with the router
from dockback_gateway.jobs.repository import JobFilter
from dockback_gateway.jobs.schemas import JobAccepted, JobDetail, JobKindName, JobOut, JobPage, JobStatusName, RunJob
from dockback_gateway.jobs.worker import state_of

router = APIRouter(prefix="/jobs", tags=["jobs"], dependencies=[Depends(enforce_policy)])

EVENT_STREAM = "text/event-stream"


def _storable(field: str, value: datetime | None) -> datetime | None:
    """`value` in UTC; 422 naming `field` when that leaves the range PostgreSQL stores."""
    if value is None or value.tzinfo is None:
        return value
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise Invalid(f"{field}: {value.isoformat()} is out of range once in UTC") from None


class NotAnEventStreamClient(DomainError):
    status_code = 406
    error = "not_acceptable"


@router.get("")
async def list_jobs(
    db: DbSession,
    status: Annotated[JobStatusName | None, Query(description="Only jobs in this status")] = None,
    kind: Annotated[JobKindName | None, Query(description="Only jobs of this kind")] = None,
    host_id: Annotated[str | None, Query(pattern=patterns.SAFE_ID, description="Only jobs on this host")] = None,
    plan_id: Annotated[uuid.UUID | None, Query(description="Only runs of this plan")] = None,
    since: Annotated[datetime | None, Query(description="Created at or after this time")] = None,
    until: Annotated[datetime | None, Query(description="Created before this time")] = None,
    cursor: Annotated[str | None, Query(max_length=512, description="next_cursor of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE, description="Jobs per page")] = 50,
) -> JobPage:
    """Jobs, newest first, a page at a time."""
    since, until = _storable("since", since), _storable("until", until)
    wanted = JobFilter(status=status, kind=kind, host_id=host_id, plan_id=plan_id, since=since, until=until)
    return await service.list_jobs(db, wanted, cursor, limit)


@router.get(
    "/events",
    response_class=StreamingResponse,
    responses={
        200: {"content": {EVENT_STREAM: {}}, "description": "Server-sent events"},
        406: {"description": "The request did not ask for text/event-stream"},
        429: {"description": "The user already has the most event streams open at once"},
    },
)
async def job_events(
    request: Request,
    principal: CurrentPrincipal,
    db: DbSession,
    job_id: Annotated[uuid.UUID | None, Query(description="Only this job's news")] = None,
) -> StreamingResponse:
    """Live news as server-sent events: `event: job` with the job (as in GET /jobs) when its status
    or phase changes, `event: progress` with bytes done while it runs, and a comment line every
    few seconds to keep the connection open. Reload the job after a reconnect: news sent while
    disconnected is not replayed.

    Send `Accept: text/event-stream` (EventSource does): any other request gets a 406 at once
    instead of a response that never ends. The stream ends (after an `event: end`) when its
    session ends or the user's role changes; a user has at most 8 streams open (429 beyond)."""
    if EVENT_STREAM not in request.headers.get("accept", ""):
        raise NotAnEventStreamClient(f"this route streams server-sent events; send 'Accept: {EVENT_STREAM}'")
    SESSION_ENDS.check_room(principal.user.id)
    # The stream may stay open for hours and reads nothing more: give the connection back now.
    await db.commit()
    heartbeat = request.app.state.runtime.settings.job_events_heartbeat_seconds
    sessions = request.app.state.sessions

    async def stream() -> AsyncIterator[str]:
        with FEED.listen(job_id) as queue, SESSION_ENDS.watch(principal.session.id, principal.user.id) as ended:
            yield ": connected\n\n"
            ending: asyncio.Future[object] = asyncio.ensure_future(ended.wait())
            getting: asyncio.Future[object] | None = None
            session_ended = False
            try:
                while not await request.is_disconnected():
                    getting = getting or asyncio.ensure_future(queue.get())
                    done, _ = await asyncio.wait({getting, ending}, timeout=heartbeat, return_when="FIRST_COMPLETED")
                    if ending in done:
                        session_ended = True
                        break
                    if getting in done:
                        news, getting = cast(News, getting.result()), None
                        yield f"event: {news.kind}\ndata: {json.dumps(news.data)}\n\n"
                    elif await still_open(sessions, principal):  # ended on another replica, or the role changed
                        yield ": heartbeat\n\n"
                    else:
                        session_ended = True
                        break
                if session_ended:
                    yield 'event: end\ndata: {"reason": "the session has ended"}\n\n'
            finally:
                for waiting in (getting, ending):
                    if waiting is not None:
                        waiting.cancel()

    return StreamingResponse(
        stream(), media_type=EVENT_STREAM, headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )


@router.get("/{job_id}")
async def get_job(job_id: uuid.UUID, db: DbSession, principal: CurrentPrincipal) -> JobDetail:
    """A job with its log (what happened, in order) and the artifacts it produced. Hooks' argv
    show to admins only; a failed hook's output (secrets redacted) to operators and admins."""
    return await service.job_detail(db, job_id, principal.user.role)


@router.post("", status_code=202)
async def run_job(body: RunJob, principal: CurrentPrincipal, request: Request, db: DbSession) -> JobAccepted:
    """Back up now: run a plan once (`plan_id`), or one resource of a host (`host_id`, `resource`).

    The job is queued and its request goes out once this transaction commits (404 for an
    unknown or deleted plan, 422 for a host that never reported, 403 naming the field when a
    non-admin asks for hooks or bind mounts)."""
    job = await service.run_job(db, body, principal.user.username, origin_of(request), principal.user.role)
    return JobAccepted(id=job.id, status=job.status)


@router.post("/{job_id}/cancel")
async def cancel_job(job_id: uuid.UUID, principal: CurrentPrincipal, request: Request, db: DbSession) -> JobOut:
    """Ask the host to stop the job (409 if it has already ended, or is a prune). A queued job whose host is
    offline is cancelled at once; otherwise the job ends `cancelled` when its executor confirms."""
    cancellations = state_of(request.app.state.runtime).cancellations
    job = await service.cancel_job(db, job_id, principal.user.username, origin_of(request), cancellations)
    return JobOut.of(job)
