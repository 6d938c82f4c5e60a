"""/settings: S3 targets, the SMTP server, webhooks and defaults. Secrets are write-only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response

from dockback_gateway import patterns
from dockback_gateway.auth.dependencies import CurrentPrincipal, enforce_policy, origin_of
from dockback_gateway.db import DbSession
from dockback_gateway.errors import Problem
from dockback_gateway.settings.checks import SettingsChecks
from dockback_gateway.settings.policy import ROWS as POLICY  # noqa: F401 - app.py mounts it with the router
from dockback_gateway.settings.schemas import (
    CheckOut,
    DefaultsOut,
    DefaultsUpdate,
    S3TargetCreate,
    S3TargetOut,
    S3TargetUpdate,
    SettingsOut,
    SmtpOut,
    SmtpUpdate,
    WebhookCreate,
    WebhookOut,
    WebhookUpdate,
)
from dockback_gateway.settings.service import SettingsService

router = APIRouter(
    prefix="/settings",
    tags=["settings"],
    dependencies=[Depends(enforce_policy)],
    responses={401: {"model": Problem}, 403: {"model": Problem}},
)
MISSING: dict[int | str, dict[str, Any]] = {404: {"model": Problem, "description": "No such setting"}}
EXISTS: dict[int | str, dict[str, Any]] = {409: {"model": Problem, "description": "The id is taken"}}
CHECKED: dict[int | str, dict[str, Any]] = {
    503: {"model": Problem, "description": "No service answered the check (`no_responder`): is one running?"},
    502: {"model": Problem, "description": "The service that answered sent an unreadable reply"},
}
UNREADABLE: dict[int | str, dict[str, Any]] = {
    409: {"model": Problem, "description": "A stored secret does not decrypt (`secret_unreadable`): send it again"}
}


def _service(request: Request, db: DbSession, principal: CurrentPrincipal) -> SettingsService:
    state = request.app.state
    return SettingsService(
        db, state.auth_config.cipher, state.settings_publisher, principal.user.username, origin_of(request)
    )


def _checks(request: Request, db: DbSession, principal: CurrentPrincipal) -> SettingsChecks:
    state = request.app.state
    return SettingsChecks(
        db, state.runtime.broker.connection, state.auth_config.cipher, principal.user.username, origin_of(request)
    )


Service = Annotated[SettingsService, Depends(_service)]
Checks = Annotated[SettingsChecks, Depends(_checks)]
TargetId = Annotated[str, Path(pattern=patterns.SAFE_ID)]
WebhookId = Annotated[str, Path(pattern=patterns.SAFE_ID)]


@router.get("", responses=UNREADABLE)
async def read_settings(settings: Service) -> SettingsOut:
    """Every setting. Secrets show only whether they are set."""
    return await settings.view()


@router.post("/targets", status_code=201, responses=EXISTS)
async def create_target(body: S3TargetCreate, settings: Service) -> S3TargetOut:
    """Add an S3 target archives are copied to."""
    return await settings.create_target(body)


@router.put("/targets/{target_id}", responses={**MISSING, **UNREADABLE})
async def update_target(target_id: TargetId, body: S3TargetUpdate, settings: Service) -> S3TargetOut:
    """Replace an S3 target's settings; keys left out are kept."""
    return await settings.update_target(target_id, body)


@router.delete("/targets/{target_id}", status_code=204, responses=MISSING)
async def delete_target(target_id: TargetId, settings: Service) -> Response:
    """Remove an S3 target (archives already copied there stay there)."""
    await settings.delete_target(target_id)
    return Response(status_code=204)


TestFrom = Annotated[
    str | None,
    Query(
        pattern=patterns.SAFE_ID,
        description="The host to check from (its uploader gets the target's keys for the check). "
        "Default: a host whose plans use the target, or the only host.",
    ),
]


@router.post("/targets/test", responses=CHECKED)
async def test_new_target(
    body: S3TargetCreate,
    checks: Checks,
    host_id: TestFrom = None,  # noqa: PT028 - a route named test_, not a test
) -> CheckOut:
    """Have a host's uploader reach an S3 target as typed, before it is saved (nothing is saved).
    A failed check is a 200 with `ok: false` and what to fix in `detail`."""
    return await checks.check_new_target(body, host_id)


@router.post("/targets/{target_id}/test", responses={**MISSING, **CHECKED})
async def test_target(
    target_id: TargetId,
    checks: Checks,
    host_id: TestFrom = None,  # noqa: PT028 - a route named test_, not a test
    body: Annotated[
        S3TargetUpdate | None,
        Body(
            description="The edit form's values, to test them before saving (a key left out is the stored one, "
            "with the saved endpoint only). Left out: the saved target is tested."
        ),
    ] = None,  # noqa: PT028 - a route named test_, not a test
) -> CheckOut:
    """Have a host's uploader reach the S3 target with its stored credentials (or the values sent)
    and check its bucket. A failed check is a 200 with `ok: false` and what to fix in `detail`."""
    return await checks.check_target(target_id, host_id, body)


@router.put("/smtp", responses=UNREADABLE)
async def put_smtp(body: SmtpUpdate, settings: Service) -> SmtpOut:
    """Set the mail server alerts go through; a password left out is kept."""
    return await settings.put_smtp(body)


@router.delete("/smtp", status_code=204, responses=MISSING)
async def delete_smtp(settings: Service) -> Response:
    """Stop sending alerts by email."""
    await settings.delete_smtp()
    return Response(status_code=204)


@router.post("/smtp/test", responses={**MISSING, **CHECKED, **UNREADABLE})
async def test_smtp(
    checks: Checks,
    body: Annotated[
        SmtpUpdate | None,
        Body(
            description="The form's values, to test them before saving (a password left out is the stored one, "
            "for the saved host and port only). Left out: the saved settings are tested."
        ),
    ] = None,  # noqa: PT028 - a route named test_, not a test
) -> CheckOut:
    """Have a notifier send a test mail to the SMTP channel's recipients (or through the values sent).
    A failed delivery is a 200 with `ok: false` and what to fix in `detail`."""
    return await checks.check_smtp(body)


@router.post("/webhooks", status_code=201, responses=EXISTS)
async def create_webhook(body: WebhookCreate, settings: Service) -> WebhookOut:
    """Add a URL that receives a JSON POST per alert."""
    return await settings.create_webhook(body)


@router.put("/webhooks/{webhook_id}", responses={**MISSING, **UNREADABLE})
async def update_webhook(webhook_id: WebhookId, body: WebhookUpdate, settings: Service) -> WebhookOut:
    """Replace a webhook's settings; a signing secret left out is kept."""
    return await settings.update_webhook(webhook_id, body)


@router.delete("/webhooks/{webhook_id}", status_code=204, responses=MISSING)
async def delete_webhook(webhook_id: WebhookId, settings: Service) -> Response:
    """Remove a webhook."""
    await settings.delete_webhook(webhook_id)
    return Response(status_code=204)


@router.post("/webhooks/test", responses=CHECKED)
async def test_new_webhook(body: WebhookCreate, checks: Checks) -> CheckOut:
    """Have a notifier POST a test alert to a webhook as typed, before it is saved (nothing is saved).
    A failed delivery is a 200 with `ok: false` and what to fix in `detail`."""
    return await checks.check_new_webhook(body)


@router.post("/webhooks/{webhook_id}/test", responses={**MISSING, **CHECKED, **UNREADABLE})
async def test_webhook(
    webhook_id: WebhookId,
    checks: Checks,
    body: Annotated[
        WebhookUpdate | None,
        Body(
            description="The edit form's values, to test them before saving (a URL or signing secret left out is "
            "the stored one; a new URL drops the stored signing secret, as saving it would). Left out: the saved "
            "webhook is tested."
        ),
    ] = None,  # noqa: PT028 - a route named test_, not a test
) -> CheckOut:
    """Have a notifier POST a test alert to the webhook (or as the values sent would).
    A failed delivery is a 200 with `ok: false` and what to fix in `detail`."""
    return await checks.check_webhook(webhook_id, body)


@router.put("/defaults")
async def put_defaults(body: DefaultsUpdate, settings: Service) -> DefaultsOut:
    """Set the defaults: compression of new plans, the base URL of links in alerts."""
    return await settings.put_defaults(body)
