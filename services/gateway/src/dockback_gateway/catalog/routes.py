"""The artifact catalog: backups per resource, verify now, retention dry runs."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from dockback_gateway.auth.dependencies import enforce_policy

router = APIRouter(prefix="/artifacts", tags=["artifacts"], dependencies=[Depends(enforce_policy)])
