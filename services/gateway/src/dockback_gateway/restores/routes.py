"""Restore preview, confirmation and the restore lock."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from dockback_gateway.auth.dependencies import enforce_policy

router = APIRouter(prefix="/restores", tags=["restores"], dependencies=[Depends(enforce_policy)])
