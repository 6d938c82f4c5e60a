"""What only an admin may ask of a plan or an ad-hoc backup.

A hook (`pre_commands`, `post_commands`) runs any argv as root in a container, and a bind
mount backup reads a path of the host: either would let an operator climb to admin (run
`psql` in DockBack's database, read the host's files). A cron expression that fires more
often than once a minute is a load no operator should be able to put on a host. So these are
admin capabilities: an operator may create or change a plan, or run a backup, only when none
of them is asked for, or (for a change) when they stay exactly as the plan has them.

The refusal is a 403 naming the field, so the person can see what to leave out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from dockback_contracts.events import BackupOptions
from dockback_gateway.errors import Forbidden
from dockback_gateway.users.models import Role

HOOK_FIELDS = ("pre_commands", "post_commands")
HIDDEN_ARGV = "(hidden: only admins see hook commands)"


def fires_more_than_once_a_minute(cron: str | None) -> bool:
    """Whether `cron` has a seconds field (the sixth) that is not one second of the minute."""
    if cron is None:
        return False
    fields = cron.split()
    return len(fields) >= 6 and not fields[5].isdigit()


def admin_asks(options: BackupOptions | Mapping[str, Any] | None, crons: Mapping[str, str | None]) -> dict[str, Any]:
    """The admin-only things `options` and `crons` ask for, by field name, with their values."""
    asked: dict[str, Any] = {}
    if options is not None:
        values = options.model_dump(mode="json") if isinstance(options, BackupOptions) else options
        for field in HOOK_FIELDS:
            if values.get(field):
                asked[f"options.{field}"] = values[field]
        if values.get("include_bind_mounts"):
            asked["options.include_bind_mounts"] = True
    for field, cron in crons.items():
        if fires_more_than_once_a_minute(cron):
            asked[field] = cron
    return asked


def _why(field: str) -> str:
    if field.startswith("options.") and field.removeprefix("options.") in HOOK_FIELDS:
        return "hooks run commands as root in a container; only an admin may set or change them"
    if field == "options.include_bind_mounts":
        return "a bind mount backup reads the host's files; only an admin may turn it on"
    return "a schedule that fires more than once a minute needs an admin"


def require_admin_for(role: str, asked: Mapping[str, Any], *, unless_kept: Mapping[str, Any] | None = None) -> None:
    """403 naming the first admin-only field `asked` for by a non-admin, unless the plan
    already has that value (`unless_kept`: the stored plan's admin-only values)."""
    if role == Role.ADMIN:
        return
    kept = unless_kept or {}
    for field in sorted(set(asked) | set(kept)):
        if asked.get(field) != kept.get(field):
            raise Forbidden(f"{field}: {_why(field)} (the {role} role may not)")


def hide_hook_argv(value: Any, hook_fields: Iterable[str] = HOOK_FIELDS) -> Any:
    """`value` (a JSON-like tree) with every hook's argv replaced: what a non-admin may see of hooks
    (that they exist, where and how many), wherever they appear (a plan's options, a job's request)."""
    fields = tuple(hook_fields)
    if isinstance(value, dict):
        hidden = {}
        for key, item in value.items():
            if key in fields and isinstance(item, list):
                hidden[key] = [
                    {**hook, "command": [HIDDEN_ARGV]} if isinstance(hook, dict) else HIDDEN_ARGV for hook in item
                ]
            else:
                hidden[key] = hide_hook_argv(item, fields)
        return hidden
    if isinstance(value, list):
        return [hide_hook_argv(item, fields) for item in value]
    return value
