"""/repositories: the plans' restic repositories, and their recovery sheets (admins, audited)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from sqlalchemy import func, select

from dockback_contracts.snapshots import repository_password
from dockback_gateway.audit.service import record
from dockback_gateway.auth.dependencies import CurrentPrincipal, enforce_policy, origin_of
from dockback_gateway.catalog.models import Artifact, ArtifactFormat, ArtifactState
from dockback_gateway.db import DbSession
from dockback_gateway.errors import NotFound, Problem
from dockback_gateway.plans.models import Plan
from dockback_gateway.repositories.models import Repository
from dockback_gateway.repositories.policy import ROWS as POLICY  # noqa: F401 - app.py mounts it with the router
from dockback_gateway.repositories.schemas import RecoverySheet, RepositoryOut
from dockback_gateway.repositories.sheet import location, sheet_text

router = APIRouter(
    prefix="/repositories",
    tags=["repositories"],
    dependencies=[Depends(enforce_policy)],
    responses={401: {"model": Problem}, 403: {"model": Problem}},
)
HostIdPath = Annotated[str, Path(max_length=64)]
NamePath = Annotated[str, Path(max_length=128)]


@router.get("")
async def list_repositories(db: DbSession) -> list[RepositoryOut]:
    """Every plan's repository, by host and name, with what the catalog holds in it."""
    held = (
        select(
            Artifact.host_id,
            Artifact.repository,
            func.count().label("snapshots"),
            func.coalesce(func.sum(Artifact.size_bytes), 0).label("added"),
        )
        .where(Artifact.format == ArtifactFormat.REPOSITORY, Artifact.state != ArtifactState.PRUNED)
        .group_by(Artifact.host_id, Artifact.repository)
        .subquery()
    )
    rows = await db.execute(
        select(Repository, Plan.name, held.c.snapshots, held.c.added)
        .outerjoin(Plan, (Plan.id == Repository.plan_id) & Plan.deleted_at.is_(None))
        .outerjoin(held, (held.c.host_id == Repository.host_id) & (held.c.repository == Repository.name))
        .order_by(Repository.host_id, Repository.name)
    )
    return [
        RepositoryOut(
            host_id=repository.host_id,
            name=repository.name,
            plan_id=repository.plan_id,
            plan_name=plan_name,
            created_at=repository.created_at,
            snapshots=snapshots or 0,
            added_bytes=int(added or 0),
        )
        for repository, plan_name, snapshots, added in rows
    ]


@router.post("/{host_id}/{name}/recovery-sheet", responses={404: {"model": Problem}})
async def export_recovery_sheet(
    host_id: HostIdPath, name: NamePath, db: DbSession, principal: CurrentPrincipal, request: Request
) -> RecoverySheet:
    """The repository's location, password and the restic commands to list and restore its
    snapshots without DockBack. Every export is in the audit log (never the password)."""
    repository = await db.get(Repository, (host_id, name))
    if repository is None:
        raise NotFound(f"there is no repository {name!r} on host {host_id!r}")
    cipher = request.app.state.auth_config.cipher
    password = cipher.decrypt(repository.password, repository_password(host_id, name)).decode()
    plan = None if repository.plan_id is None else await db.get(Plan, repository.plan_id)
    await record(
        db,
        action="repository.recovery_sheet",
        outcome="success",
        actor=principal.user.username,
        origin=origin_of(request),
        target=f"{host_id}/{name}",
    )
    return RecoverySheet(
        host_id=host_id,
        name=name,
        plan_id=repository.plan_id,
        location=location(name),
        password=password,
        text=sheet_text(
            host_id=host_id,
            name=name,
            plan=None if plan is None else f"{plan.name} ({plan.id})",
            password=password,
            exported_by=principal.user.username,
            exported_at=datetime.now(UTC),
        ),
    )
