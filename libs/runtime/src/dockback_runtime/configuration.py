"""A service's settings read from its environment, or one line saying what is wrong with them."""

from __future__ import annotations

from typing import TypeVar

from pydantic import ValidationError
from pydantic_settings import BaseSettings

S = TypeVar("S", bound=BaseSettings)


def load_settings(settings_class: type[S], program: str) -> S:
    """`settings_class()` from the environment; a wrong or missing variable stops `program` with
    one line naming each such variable (`dockback-uploader: invalid configuration:
    DOCKBACK_DATA_DIR: ...`), not a traceback."""
    try:
        return settings_class()
    except ValidationError as exc:
        raise SystemExit(f"{program}: invalid configuration: {describe(exc, settings_class)}") from None


def describe(exc: ValidationError, settings_class: type[BaseSettings]) -> str:
    """Each problem as `VARIABLE: message`, joined by `; ` (a model-wide check names no variable)."""
    prefix = str(settings_class.model_config.get("env_prefix") or "")
    return "; ".join(
        (f"{prefix}{'_'.join(map(str, error['loc'])).upper()}: " if error["loc"] else "") + error["msg"]
        for error in exc.errors()
    )
