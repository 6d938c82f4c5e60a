"""One logging setup for every service: JSON lines (default) or text, with the job id on every line
logged while a job's message is handled.

DOCKBACK_LOG_FORMAT=json|text selects the format (json by default, as in containers; `make up` may
choose text). A JSON line: {"ts", "level", "logger", "message", "service", "host_id"?, "job_id"?,
"exc"?}. The job id comes from a context variable that the handlers set (`job_context`): it is
read when a line is formatted, so library lines (aiodocker, nats, FastStream) logged in that task
carry it too.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, datetime

LOG_FORMAT_ENV = "DOCKBACK_LOG_FORMAT"

current_job_id: ContextVar[str | None] = ContextVar("dockback_job_id", default=None)

_identity: dict[str, str] = {}


def bind_job(job_id: str | None) -> None:
    """From here on, every line this task (and the tasks it starts) logs carries `job_id`."""
    current_job_id.set(job_id)


@contextlib.contextmanager
def job_context(job_id: str | None) -> Iterator[None]:
    token = current_job_id.set(job_id)
    try:
        yield
    finally:
        current_job_id.reset(token)


def set_host_id(host_id: str) -> None:
    """The executor learns its host id from the engine after logging is set up."""
    _identity["host_id"] = host_id


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **_identity,
        }
        job_id = getattr(record, "job_id", None)
        if job_id:
            line["job_id"] = job_id
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        elif record.stack_info:
            line["exc"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str, ensure_ascii=False)


class _Context(logging.Filter):
    """Puts the current job id on the record (read in the logging task, where the context is)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "job_id", None):
            record.job_id = current_job_id.get()
        job_id = getattr(record, "job_id", None)
        record.job_suffix = f" [job {job_id}]" if job_id else ""
        return True


class _QuietFastStream(logging.Filter):
    """Drops FastStream's supervisor chatter about its pull loop.

    nats-py's `fetch()` raises a bare `asyncio.TimeoutError` (not `nats.errors.TimeoutError`) when
    its deadline runs out right after the no-wait probe; FastStream's pull loop suppresses only the
    nats subclass, so its supervisor logs "Task-N raised an exception, retrying..." with a traceback
    and restarts the loop at once. Nothing was fetched, nothing is lost: the line is noise. Other
    exceptions from the loop still get through, as do the broker's warnings and errors.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message.startswith("callback for Task-") and message.endswith("is being executed..."):
            return False
        if "raised an exception, retrying..." in message and record.exc_info:
            exc = record.exc_info[1]
            return not isinstance(exc, TimeoutError)
        return True


def setup_logging(service: str, level: str | int = "INFO", host_id: str | None = None) -> None:
    """Configure the root logger once, at a service's start."""
    fmt = os.environ.get(LOG_FORMAT_ENV, "json").strip().lower()
    if fmt not in ("json", "text"):
        raise SystemExit(f"{LOG_FORMAT_ENV} must be json or text, not {fmt!r}")
    _identity.clear()
    _identity["service"] = service
    if host_id:
        _identity["host_id"] = host_id
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_Context())
    handler.addFilter(_QuietFastStream())
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s%(job_suffix)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    _quiet_brokers[:] = ["faststream", f"dockback.{service}.broker"] if root.level > logging.DEBUG else []
    for name in _quiet_brokers:
        logging.getLogger(name).setLevel(logging.WARNING)
    adopt_faststream_loggers()


_quiet_brokers: list[str] = []


def adopt_faststream_loggers() -> None:
    """Route FastStream's own default loggers (`faststream.access.*`, made when a broker without a
    `logger=` starts: colored text on stdout, not propagated) through our handler, and keep its
    per-message lines ("Received", "Processed", at INFO) for DEBUG. Call after such a broker starts."""
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger) and name.startswith("faststream"):
            for old in list(logger.handlers):
                logger.removeHandler(old)
            logger.propagate = True
            logger.setLevel(logging.WARNING if _quiet_brokers else logging.NOTSET)
