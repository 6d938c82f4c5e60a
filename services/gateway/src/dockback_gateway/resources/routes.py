"""/resources: hosts, containers, volumes and images as the executors report them; coverage."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import StringConstraints

from dockback_contracts.base import HostId
from dockback_gateway import patterns
from dockback_gateway.auth.dependencies import enforce_policy
from dockback_gateway.db import DbSession
from dockback_gateway.errors import Problem  # one error shape across the API
from dockback_gateway.resources.policy import ROWS as POLICY  # noqa: F401 - app.py mounts it with the router
from dockback_gateway.resources.schemas import ContainerOut, Coverage, HostOut, ImageOut, VolumeOut
from dockback_gateway.resources.service import ResourceFilter, ResourceViews

router = APIRouter(
    prefix="/resources",
    tags=["resources"],
    dependencies=[Depends(enforce_policy)],
    responses={401: {"model": Problem}, 403: {"model": Problem}},
)

HostFilter = Annotated[HostId | None, Query(description="Only this host's resources")]
LabelFilter = Annotated[
    list[Annotated[str, StringConstraints(max_length=512, pattern=patterns.LABEL)]],
    Query(description="key=value; repeat for several (all must match)", examples=["backup=nightly"]),
]
ProjectFilter = Annotated[
    str | None,
    Query(max_length=255, pattern=patterns.NO_CONTROL_CHARACTERS, description="Only resources of this compose project"),
]
NameFilter = Annotated[
    str | None,
    Query(
        max_length=255,
        pattern=patterns.NO_CONTROL_CHARACTERS,
        description="Names containing this text (whatever its case)",
    ),
]
ProtectedFilter = Annotated[bool | None, Query(description="Only protected (true) or unprotected (false) resources")]


def _views(db: DbSession) -> ResourceViews:
    return ResourceViews(db)


Views = Annotated[ResourceViews, Depends(_views)]


def _filter(
    host_id: HostFilter = None,
    label: LabelFilter = [],  # noqa: B006 - FastAPI copies query defaults
    compose_project: ProjectFilter = None,
    name: NameFilter = None,
    protected: ProtectedFilter = None,
) -> ResourceFilter:
    labels = dict(item.split("=", 1) for item in label)
    return ResourceFilter(
        host_id=host_id, labels=labels, compose_project=compose_project, name=name, protected=protected
    )


Filter = Annotated[ResourceFilter, Depends(_filter)]


@router.get("/hosts")
async def list_hosts(views: Views, host_id: HostFilter = None) -> list[HostOut]:
    """Every host an executor has reported: online while its heartbeats keep coming, its engine
    and how many containers, volumes and images it has."""
    return await views.hosts(host_id)


@router.get("/containers")
async def list_containers(views: Views, wanted: Filter) -> list[ContainerOut]:
    """The containers of the hosts' latest inventories, each with the plans that protect it and
    its newest backup and verification."""
    return await views.containers(wanted)


@router.get("/volumes")
async def list_volumes(views: Views, wanted: Filter) -> list[VolumeOut]:
    """The volumes of the hosts' latest inventories, each with the plans that protect it
    (directly, or through a protected container that mounts it) and its newest backup and verification."""
    return await views.volumes(wanted)


@router.get("/images")
async def list_images(views: Views, host_id: HostFilter = None, name: NameFilter = None) -> list[ImageOut]:
    """The images of the hosts' latest inventories (`name` matches a tag or the id)."""
    return await views.images(host_id, name)


@router.get("/coverage")
async def coverage(views: Views) -> Coverage:
    """Per host and in total, protected and unprotected volumes and containers, and the
    unprotected ones by name: data no plan backs up, at a glance."""
    return await views.coverage()
