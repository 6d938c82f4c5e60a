"""The rules of plans: what a valid plan is, and how a change is recorded and announced.

Every change raises the plan's revision, is audited in the request's transaction, and is
published to the scheduler as the plan's snapshot once (and only if) it has committed.
Never commits: the request's session does.

Rules where a request can be wrong in a way the schema cannot see (422, naming the field):
the host must be one an executor has reported (a typo would make a plan that never runs),
each upload target must exist in the settings, a local-copies policy that removes archives
needs an upload target, and the schedule must fire at least once.
A plan never moves to another host: its archives and retention are scoped by (host, plan).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from dockback_contracts.schedule import next_fire_times, parse_zone
from dockback_gateway.audit.service import Origin, record
from dockback_gateway.errors import Conflict, Forbidden, Invalid, NotFound
from dockback_gateway.jobs.models import Job
from dockback_gateway.keys import Cipher
from dockback_gateway.plans import repository
from dockback_gateway.plans.admin_only import HOOK_FIELDS, admin_asks, hide_hook_argv, require_admin_for
from dockback_gateway.plans.convert import local_copies_of, options_of, retention_of, targets_of
from dockback_gateway.plans.models import Plan
from dockback_gateway.plans.schemas import (
    PREVIEW_COUNT,
    JobSummary,
    PlanCreate,
    PlanFields,
    PlanOut,
    PlanUpdate,
    SchedulePreview,
)
from dockback_gateway.plans.snapshot import PlanPublisher
from dockback_gateway.repositories.service import ensure_plan_repository
from dockback_gateway.settings.service import reseal_for_hosts
from dockback_gateway.settings.snapshot import SnapshotPublisher
from dockback_gateway.users.models import Role

_KNOWN_HOSTS_SHOWN = 20


_FIRE_TIMES_KEPT = 4096
_fire_times: dict[tuple[str, str, int], tuple[datetime, list[datetime]]] = {}
"""(cron, timezone, count) -> (after, the fire times after it): the plans list asks for every
plan's next fire times on every request (~0.3 ms each from croniter: a third of a second with
1,000 plans), and they stay the same until the first of them has passed."""


def fire_times_in_zone(cron: str, timezone: str, after: datetime, count: int = PREVIEW_COUNT) -> list[datetime]:
    """The next `count` fire times after `after`, each in `timezone` (so it carries that zone's offset)."""
    key = (cron, timezone, count)
    kept = _fire_times.get(key)
    # The fire times after `after` are those after an earlier instant when none lies between them.
    if kept is not None and kept[1] and kept[0] <= after < kept[1][0]:
        return list(kept[1])
    zone = parse_zone(timezone)
    try:
        instants = next_fire_times(cron, timezone, after, count)
    except OverflowError:  # the expression's next date lies beyond what datetime can hold
        instants = []
    times = [instant.astimezone(zone) for instant in instants]
    if len(_fire_times) >= _FIRE_TIMES_KEPT:
        _fire_times.clear()
    _fire_times[key] = (after, times)
    return list(times)


def schedule_preview(cron: str, timezone: str, after: datetime | None) -> SchedulePreview:
    """What the plan editor shows as the user types (the values were validated by the schema)."""
    start = after or datetime.now(UTC)
    return SchedulePreview(cron=cron, timezone=timezone, fire_times=fire_times_in_zone(cron, timezone, start))


def plan_out(plan: Plan, last_job: Job | None, now: datetime, *, show_hook_argv: bool = True) -> PlanOut:
    firing = plan.enabled and plan.deleted_at is None
    options = options_of(plan)
    if not show_hook_argv:
        options = type(options).model_validate(hide_hook_argv(options.model_dump(mode="json")), strict=False)
    return PlanOut(
        id=plan.id,
        name=plan.name,
        host_id=plan.host_id,
        enabled=plan.enabled,
        cron=plan.cron,
        timezone=plan.timezone,
        targets=list(targets_of(plan)),
        options=options,
        hook_argv_hidden=not show_hook_argv and any(getattr(options, f) for f in HOOK_FIELDS),
        upload_targets=list(plan.upload_targets),
        retention=retention_of(plan),
        local_copies=local_copies_of(plan),
        verify_cron=plan.verify_cron,
        missed_run_grace_seconds=plan.missed_run_grace_seconds,
        restore_special_bits=plan.restore_special_bits,
        revision=plan.revision,
        created_by=plan.created_by,
        created_at=plan.created_at,
        updated_at=plan.updated_at,
        deleted_at=plan.deleted_at,
        next_fire_times=fire_times_in_zone(plan.cron, plan.timezone, now) if firing else [],
        last_job=None
        if last_job is None
        else JobSummary(
            id=last_job.id,
            status=last_job.status,
            phase=last_job.phase,
            created_at=last_job.created_at,
            finished_at=last_job.finished_at,
            error=last_job.error,
        ),
    )


class PlanService:
    def __init__(
        self,
        db: AsyncSession,
        publisher: PlanPublisher,
        actor: str,
        origin: Origin,
        role: str,
        settings_publisher: SnapshotPublisher,
        cipher: Cipher,
    ) -> None:
        self.db = db
        self.cipher = cipher  # encrypts the password of a repository a plan gets
        self.publisher = publisher
        self.settings_publisher = settings_publisher  # a host's share of the settings follows its plans' targets
        self.actor = actor
        self.origin = origin
        self.role = role

    # -- reading ---------------------------------------------------------------------------

    async def list_plans(self, *, host_id: str | None, enabled: bool | None) -> list[PlanOut]:
        """The live plans (deleted ones are left out), by name."""
        plans = await repository.live_plans(self.db, host_id=host_id, enabled=enabled)
        return await self._out(plans)

    async def get(self, plan_id: uuid.UUID) -> PlanOut:
        """One plan; a deleted one too (its jobs and archives still name it), with `deleted_at` set."""
        plan = await repository.plan(self.db, plan_id)
        if plan is None:
            raise NotFound(f"there is no plan {plan_id}")
        return (await self._out([plan]))[0]

    # -- changing --------------------------------------------------------------------------

    async def create(self, body: PlanCreate) -> PlanOut:
        require_admin_for(self.role, _admin_asks_of(body))
        if not await repository.host_known(self.db, body.host_id):
            raise Invalid(await self._unknown_host(body.host_id))
        self._may_set_special_bits(False, body.restore_special_bits)
        values = await self._checked(body)
        values["restore_special_bits"] = body.restore_special_bits
        if "compression" not in body.options.model_fields_set:
            default = await repository.default_compression(self.db)
            if default is not None:
                values["options"]["compression"] = default
        await self._name_free(body.name)
        now = _now()
        plan = Plan(
            id=uuid.uuid4(),
            host_id=body.host_id,
            **values,
            revision=1,
            created_by=self.actor,
            created_at=now,
            updated_at=now,
        )
        self.db.add(plan)
        await self._flush(body.name)
        await self._changed("plan.create", plan, {"name": plan.name, "host_id": plan.host_id})
        if await self._repository_made(plan) or plan.upload_targets:
            await reseal_for_hosts(self.db, self.settings_publisher)
        return (await self._out([plan]))[0]

    async def update(self, plan_id: uuid.UUID, body: PlanUpdate) -> PlanOut:
        """Replace the plan's fields; a request that changes nothing changes no revision."""
        plan = await self._live_for_update(plan_id)
        if body.host_id is not None and body.host_id != plan.host_id:
            raise Invalid(
                f"host_id: a plan stays on its host ({plan.host_id!r}), since its archives and retention "
                "belong to that host; create a new plan for another host"
            )
        body = self._with_hidden_hooks_kept(body, plan)
        require_admin_for(self.role, _admin_asks_of(body), unless_kept=_admin_asks_of_plan(plan))
        values = await self._checked(body)
        if body.restore_special_bits is not None:
            self._may_set_special_bits(plan.restore_special_bits, body.restore_special_bits)
            values["restore_special_bits"] = body.restore_special_bits
        if body.name.lower() != plan.name.lower():
            await self._name_free(body.name, other_than=plan.id)
        changed = sorted(field for field, value in values.items() if getattr(plan, field) != value)
        if changed:
            for field in changed:
                setattr(plan, field, values[field])
            await self._flush(body.name)
            await self._changed("plan.update", plan, {"changed": changed})
            if await self._repository_made(plan) or "upload_targets" in changed:
                await reseal_for_hosts(self.db, self.settings_publisher)
        return (await self._out([plan]))[0]

    async def set_enabled(self, plan_id: uuid.UUID, enabled: bool) -> PlanOut:
        """Turn the plan on or off; asking for the state it is in changes nothing."""
        plan = await self._live_for_update(plan_id)
        if plan.enabled != enabled:
            plan.enabled = enabled
            await self._changed("plan.enable" if enabled else "plan.disable", plan, {})
        return (await self._out([plan]))[0]

    async def delete(self, plan_id: uuid.UUID) -> None:
        """Soft delete: the row stays (jobs and archives name it), its snapshot goes, so it never
        fires again. Its archives are kept: deleting backups is for retention or a person."""
        plan = await self._live_for_update(plan_id)
        plan.deleted_at = _now()
        await self._changed("plan.delete", plan, {"name": plan.name})
        if plan.upload_targets:
            await reseal_for_hosts(self.db, self.settings_publisher)  # copies already made keep theirs

    # -- the parts -------------------------------------------------------------------------

    async def _repository_made(self, plan: Plan) -> bool:
        """A plan whose format is `repository` gets its repository (and its password) the first
        time it is saved so; whether it was made now."""
        if options_of(plan).format != "repository":
            return False
        return await ensure_plan_repository(self.db, self.cipher, plan)

    def _may_set_special_bits(self, now: bool, wanted: bool) -> None:
        """Only an admin changes whether restores may write setuid/setgid files: a setuid-root
        program in a volume is root for whoever can run it in a container."""
        if wanted != now and self.role != Role.ADMIN:
            raise Forbidden(
                "restore_special_bits: only an admin may change whether this plan's restores write setuid "
                "and setgid files"
            )

    async def _checked(self, body: PlanFields) -> dict[str, Any]:
        """The plan's column values from `body`, after the checks that need the database."""
        upload_targets = list(dict.fromkeys(body.upload_targets))  # each once, in the order given
        existing = await repository.existing_target_ids(self.db, upload_targets)
        unknown = [t for t in upload_targets if t not in existing]
        if unknown:
            known = await repository.all_target_ids(self.db)
            raise Invalid(
                f"upload_targets: there is no S3 target {unknown[0]!r} "
                f"({'known targets: ' + ', '.join(known) if known else 'no S3 target is configured'}; see /settings)"
            )
        if body.local_copies.keep != "all" and not upload_targets:
            # Harmless (an archive without a verified remote copy is never removed) but certainly
            # not what was meant: the disk would fill while the plan says it does not.
            raise Invalid(
                f"local_copies: keep {body.local_copies.keep!r} removes local archives only once they are "
                "copied off the host, and this plan names no upload_targets; add one, or keep 'all'"
            )
        if not fire_times_in_zone(body.cron, body.timezone, _now(), 1):
            raise Invalid(f"cron: {body.cron!r} never fires (no such date from now on)")
        if body.verify_cron is not None and not fire_times_in_zone(body.verify_cron, body.timezone, _now(), 1):
            raise Invalid(f"verify_cron: {body.verify_cron!r} never fires (no such date from now on)")
        return {
            "name": body.name,
            "enabled": body.enabled,
            "cron": body.cron,
            "timezone": body.timezone,
            "targets": [t.model_dump(mode="json") for t in body.targets],
            "options": body.options.model_dump(mode="json"),
            "upload_targets": upload_targets,
            "retention": body.retention.model_dump(mode="json"),
            "local_copies": body.local_copies.model_dump(mode="json"),
            "verify_cron": body.verify_cron,
            "missed_run_grace_seconds": body.missed_run_grace_seconds,
        }

    def _with_hidden_hooks_kept(self, body: PlanUpdate, plan: Plan) -> PlanUpdate:
        """A non-admin sees a plan's hooks with their argv hidden; sending them back as seen keeps them."""
        if self.role == Role.ADMIN:
            return body
        stored = options_of(plan).model_dump(mode="json")
        sent = body.options.model_dump(mode="json")
        kept = {f: stored.get(f, []) for f in HOOK_FIELDS if sent.get(f) and sent[f] == hide_hook_argv(stored).get(f)}
        if not kept:
            return body
        options = type(body.options).model_validate({**sent, **kept}, strict=False)
        return body.model_copy(update={"options": options})

    async def _unknown_host(self, host_id: str) -> str:
        known = await repository.known_host_ids(self.db, _KNOWN_HOSTS_SHOWN + 1)
        if not known:
            return f"host_id: no executor has reported the host {host_id!r}; no host has reported yet"
        shown = ", ".join(known[:_KNOWN_HOSTS_SHOWN]) + (", ..." if len(known) > _KNOWN_HOSTS_SHOWN else "")
        return f"host_id: no executor has reported the host {host_id!r}; known hosts: {shown}"

    async def _name_free(self, name: str, *, other_than: uuid.UUID | None = None) -> None:
        if await repository.live_name_taken(self.db, name, other_than=other_than):
            raise Conflict(f"a plan named {name!r} exists already (names are unique whatever their case)")

    async def _flush(self, name: str) -> None:
        """Write the row; a plan of the same name committed by a concurrent request is a 409 too."""
        try:
            await self.db.flush()
        except IntegrityError as exc:
            raise Conflict(f"a plan named {name!r} exists already (names are unique whatever their case)") from exc

    async def _live_for_update(self, plan_id: uuid.UUID) -> Plan:
        plan = await repository.plan_for_update(self.db, plan_id)
        if plan is None:
            raise NotFound(f"there is no plan {plan_id}")
        if plan.deleted_at is not None:
            raise NotFound(f"the plan {plan.name!r} ({plan_id}) was deleted")
        return plan

    async def _changed(self, action: str, plan: Plan, details: dict[str, Any]) -> None:
        """Raise the revision, audit the change, publish the snapshot once it has committed.

        The audit details name what changed, never the values: a hook command's argv can
        carry a password.
        """
        if action != "plan.create":
            plan.revision += 1
            plan.updated_at = _now()
        await self.db.flush()
        await record(
            self.db,
            action=action,
            outcome="success",
            actor=self.actor,
            origin=self.origin,
            target=str(plan.id),
            details={**details, "revision": plan.revision},
        )
        self.publisher.publish_after_commit(self.db, plan.id)

    async def _out(self, plans: Sequence[Plan]) -> list[PlanOut]:
        jobs = await repository.newest_backup_jobs(self.db, [p.id for p in plans])
        now = _now()
        show = self.role == Role.ADMIN
        return [plan_out(p, jobs.get(p.id), now, show_hook_argv=show) for p in plans]


def _admin_asks_of(body: PlanFields) -> dict[str, Any]:
    return admin_asks(body.options, {"cron": body.cron, "verify_cron": body.verify_cron})


def _admin_asks_of_plan(plan: Plan) -> dict[str, Any]:
    return admin_asks(options_of(plan), {"cron": plan.cron, "verify_cron": plan.verify_cron})


def _now() -> datetime:
    return datetime.now(UTC)
