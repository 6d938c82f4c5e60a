"""Hosts, containers, volumes and images as the executors report them; coverage."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from dockback_gateway.auth.dependencies import enforce_policy

router = APIRouter(prefix="/resources", tags=["resources"], dependencies=[Depends(enforce_policy)])
