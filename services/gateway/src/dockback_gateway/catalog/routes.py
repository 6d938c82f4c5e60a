"""/artifacts: the artifact catalog, verify now, delete one backup, retention dry runs, browsing a
snapshot and downloading its files."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from dockback_contracts.control import SNAPSHOT_DOWNLOAD_MOST_PATHS, SnapshotTree
from dockback_gateway import patterns
from dockback_gateway.audit.service import record
from dockback_gateway.auth.dependencies import CurrentPrincipal, enforce_policy, origin_of
from dockback_gateway.catalog.download import DownloadBrokeOff, chunks, open_download
from dockback_gateway.catalog.policy import ROWS as POLICY  # noqa: F401 - app.py mounts it with the router
from dockback_gateway.catalog.repository import ArtifactFilter
from dockback_gateway.catalog.schemas import (
    ArtifactDetail,
    ArtifactPage,
    ArtifactStateName,
    DeleteStarted,
    ResourceKindName,
    RetentionPreview,
    RetentionPreviewRequest,
    VerifyStarted,
)
from dockback_gateway.catalog.service import CatalogService
from dockback_gateway.catalog.tree import snapshot_tree
from dockback_gateway.db import DbSession
from dockback_gateway.errors import Problem  # one error shape across the API

router = APIRouter(
    prefix="/artifacts",
    tags=["artifacts"],
    dependencies=[Depends(enforce_policy)],
    responses={401: {"model": Problem}, 403: {"model": Problem}},
)
log = logging.getLogger(__name__)
MISSING: dict[int | str, dict[str, Any]] = {404: {"model": Problem, "description": "No such artifact"}}


def _service(request: Request, db: DbSession, principal: CurrentPrincipal) -> CatalogService:
    return CatalogService(db, principal.user.username, origin_of(request))


Service = Annotated[CatalogService, Depends(_service)]


@router.get("")
async def list_artifacts(
    catalog: Service,
    host_id: Annotated[str | None, Query(pattern=patterns.SAFE_ID, description="Only this host's artifacts.")] = None,
    plan_id: Annotated[uuid.UUID | None, Query(description="Only this plan's artifacts.")] = None,
    resource_kind: Annotated[
        ResourceKindName | None, Query(description="Only backups of this kind of resource.")
    ] = None,
    resource_name: Annotated[
        str | None,
        Query(max_length=255, pattern=patterns.NO_CONTROL_CHARACTERS, description="Only backups of this resource."),
    ] = None,
    state: Annotated[
        ArtifactStateName | None,
        Query(description="Only artifacts in this state. Without it, the backups a person deleted are left out."),
    ] = None,
    verified: Annotated[bool | None, Query(description="Only verified (true) or unverified (false) ones.")] = None,
    cursor: Annotated[str | None, Query(max_length=200, description="`next_cursor` of the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Page size.")] = 50,
) -> ArtifactPage:
    """The catalog, newest first, with filters and cursor pagination."""
    where = ArtifactFilter(host_id, plan_id, resource_kind, resource_name, state, verified)
    return await catalog.page(where, cursor, limit)


@router.post("/retention-preview", responses={404: {"model": Problem, "description": "No such plan"}})
async def preview_retention(body: RetentionPreviewRequest, catalog: Service) -> RetentionPreview:
    """Dry run: what a plan's retention policy (or a policy given here) would keep and delete now,
    per archive series, with the reasons. Changes nothing."""
    return await catalog.retention_preview(body)


@router.get(
    "/{artifact_id}/tree",
    responses={
        **MISSING,
        422: {"model": Problem, "description": "Not a volume's snapshot"},
        503: {"model": Problem, "description": "The snapshot's host could not list it (the detail says why)"},
    },
)
async def browse_snapshot(
    artifact_id: uuid.UUID,
    db: DbSession,
    request: Request,
    path: Annotated[str, Query(max_length=4096, description="A directory, from the volume's root")] = "/",
) -> SnapshotTree:
    """The entries directly inside one directory of a volume's snapshot (names, types, sizes,
    modes, owners, times), listed by its host when asked: browse a snapshot one directory at a time."""
    return await snapshot_tree(db, request.app.state.runtime.broker.connection, artifact_id, path)


@router.get(
    "/{artifact_id}/download",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"application/octet-stream": {}, "application/x-tar": {}},
            "description": "One file as it is, else a tar of the chosen files and directories",
        },
        **MISSING,
        422: {"model": Problem, "description": "Not a volume's snapshot, or a path leaves the volume"},
        503: {
            "model": Problem,
            "description": "The snapshot's host could not start the download (the detail says why)",
        },
    },
)
async def download_from_snapshot(
    artifact_id: uuid.UUID,
    db: DbSession,
    principal: CurrentPrincipal,
    request: Request,
    path: Annotated[
        list[str],
        Query(
            min_length=1,
            max_length=SNAPSHOT_DOWNLOAD_MOST_PATHS,
            description="Files and directories, from the volume's root (repeat for several)",
        ),
    ],
) -> StreamingResponse:
    """Download files of a volume's snapshot, streamed from its host as it reads them: one file
    as it is, several (or a directory) as a tar named from the directory that holds them. A
    download that breaks off ends without its proper end, never as a complete file. Audited."""
    connection = request.app.state.runtime.broker.connection
    download = await open_download(db, connection, artifact_id, path)
    await record(
        db,
        action="artifact.download",
        outcome="success",
        actor=principal.user.username,
        origin=origin_of(request),
        target=str(artifact_id),
        details={"host": download.artifact.host_id, "paths": list(download.paths)},
    )
    headers = {"Content-Disposition": download.content_disposition, "Cache-Control": "no-store"}
    if download.opened.size is not None:
        headers["Content-Length"] = str(download.opened.size)
    return StreamingResponse(
        _logged(chunks(connection, download), artifact_id), media_type=download.media_type, headers=headers
    )


async def _logged(body: AsyncIterator[bytes], artifact_id: uuid.UUID) -> AsyncIterator[bytes]:
    try:
        async for chunk in body:
            yield chunk
    except DownloadBrokeOff as exc:
        log.warning("a download from backup %s broke off: %s", artifact_id, exc)
        raise


@router.get("/{artifact_id}", responses=MISSING)
async def get_artifact(artifact_id: uuid.UUID, catalog: Service) -> ArtifactDetail:
    """One artifact with its remote copies, its checks and its manifest."""
    return await catalog.get(artifact_id)


@router.post(
    "/{artifact_id}/verify",
    status_code=202,
    responses={
        **MISSING,
        409: {"model": Problem, "description": "The artifact is pruned (or being pruned) or not on its host"},
    },
)
async def verify_artifact(artifact_id: uuid.UUID, catalog: Service) -> VerifyStarted:
    """Check the archive now: its host re-reads it, compares the sha256 and reads the tar through.
    Returns the verify job; a failure is recorded on the artifact and alerts."""
    return await catalog.verify_now(artifact_id)


@router.delete(
    "/{artifact_id}",
    status_code=202,
    responses={
        **MISSING,
        409: {
            "model": Problem,
            "description": "Already deleted or pruned (or on its way), read by a queued or running restore, "
            "fetch or verify, or its backup job has not ended yet",
        },
    },
)
async def delete_artifact(artifact_id: uuid.UUID, catalog: Service) -> DeleteStarted:
    """Delete one backup for good: it leaves the list at once, and its host deletes the local
    archive, its manifest and every remote copy (a job of kind `prune`). Audited."""
    return await catalog.delete(artifact_id)
