"""Backup plans: CRUD, validation, snapshots for the scheduler."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from dockback_gateway.auth.dependencies import enforce_policy

router = APIRouter(prefix="/plans", tags=["plans"], dependencies=[Depends(enforce_policy)])
