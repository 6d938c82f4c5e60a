"""The state of a restore's target on its host now, for the preview.

The host's inventory is published on a period and after Docker events, and recorded a moment
later, so a container created seconds before a preview can be missing from it. The preview
therefore asks the host's executor (`TargetUsersQuery` on `subjects.target_users(host)`, core
request/reply: only that host's executors may answer) what exists of the objects the restore
touches and which containers use them. When no answer comes within `HOST_ANSWER_SECONDS`, the
last inventory stands in, and the preview says so in a sentence the person reads before
confirming.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from nats.aio.client import Client as NatsClient
from nats.errors import Error as NatsError
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from pydantic import ValidationError

from dockback_contracts import events as ev
from dockback_contracts import subjects
from dockback_contracts.control import TargetUsers, TargetUsersQuery
from dockback_gateway.restores.impact import with_current

log = logging.getLogger(__name__)

HOST_ANSWER_SECONDS = 2.0
"""How long a preview waits for the host's answer before it falls back to the inventory."""


@dataclass(frozen=True)
class HostView:
    """What the preview judges the restore on."""

    inventory: ev.HostInventory
    checked_at: datetime | None
    """When the host answered; None when it did not and the inventory stands in."""
    fallback: str | None = None
    """Why the host's answer is missing and what the preview is from instead."""


async def current_view(
    connection: NatsClient | None,
    inventory: ev.HostInventory,
    inventory_at: datetime | None,
    asked: TargetUsersQuery,
) -> HostView:
    """The inventory updated with the host's answer about `asked`, or the inventory as it is,
    with the sentence that says so."""
    host_id = inventory.host_id
    answer, missing = await _ask(connection, host_id, asked)
    if answer is not None:
        return HostView(with_current(inventory, asked, answer), checked_at=answer.checked_at)
    when = f"of {inventory_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC" if inventory_at else "last reported"
    log.info("restore preview for host %s from its inventory: %s", host_id, missing)
    return HostView(
        inventory,
        checked_at=None,
        fallback=(
            f"{missing}: this preview is from the host's inventory {when}, so a container created or started "
            "since then is not listed. The executor checks the target again before it writes."
        ),
    )


async def _ask(connection: NatsClient | None, host_id: str, asked: TargetUsersQuery) -> tuple[TargetUsers | None, str]:
    """The host's answer, or why there is none (the start of a sentence for the person previewing)."""
    if connection is None or not connection.is_connected:
        return None, "The gateway is not connected to NATS"
    try:
        reply = await connection.request(
            subjects.target_users(host_id), asked.model_dump_json().encode(), timeout=HOST_ANSWER_SECONDS
        )
    except NoRespondersError:
        return None, f"No executor of host {host_id} is connected"
    except (NatsTimeoutError, TimeoutError):
        return None, f"Host {host_id} did not answer within {HOST_ANSWER_SECONDS:g} s"
    except NatsError as exc:
        return None, f"The gateway could not ask host {host_id} ({exc})"
    try:
        answer = TargetUsers.model_validate_json(reply.data)
    except ValidationError:
        log.warning("the answer of host %s to a restore preview is unreadable: %r", host_id, reply.data[:200])
        return None, f"Host {host_id} sent an unreadable answer"
    if answer.host_id != host_id:
        log.warning("host %s was asked about its restore target and host %s answered", host_id, answer.host_id)
        return None, f"Host {answer.host_id} answered instead of host {host_id}"
    if answer.problem:
        return None, f"Host {host_id}'s executor could not read its Docker Engine ({answer.problem})"
    return answer, ""
