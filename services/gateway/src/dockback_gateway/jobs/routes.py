"""Jobs: list, detail, run now, cancel, live progress."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from dockback_gateway.auth.dependencies import enforce_policy

router = APIRouter(prefix="/jobs", tags=["jobs"], dependencies=[Depends(enforce_policy)])
