"""The shared log setup: JSON or text by DOCKBACK_LOG_FORMAT, the job id from the context, and
FastStream's benign pull-loop restart kept out of the logs."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterator

import pytest

from dockback_runtime import logs


@pytest.fixture
def captured(capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[[], str]]:
    """What the root handler (on sys.stderr, as the services log) wrote; every logger is restored after."""
    loggers = [
        logging.getLogger(),
        *(v for v in logging.root.manager.loggerDict.values() if isinstance(v, logging.Logger)),
    ]
    saved = [(logger, list(logger.handlers), logger.level, logger.propagate) for logger in loggers]
    try:
        yield lambda: capsys.readouterr().err
    finally:
        for logger, handlers, level, propagate in saved:
            logger.handlers[:] = handlers
            logger.setLevel(level)
            logger.propagate = propagate
        for name in ("faststream", "faststream.access.nats"):  # made by these tests: back to defaults
            if all(name != logger.name for logger, *_ in saved):
                logging.getLogger(name).setLevel(logging.NOTSET)


def lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines()]


def test_json_lines_carry_service_host_and_the_job_of_the_task_that_logged(
    captured: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(logs.LOG_FORMAT_ENV, raising=False)  # json is the default
    logs.setup_logging("executor", "INFO", host_id="h1")

    async def job(job_id: str) -> None:
        logs.bind_job(job_id)
        logging.getLogger("some.library").info("inside %s", job_id)
        await asyncio.sleep(0)
        logging.getLogger("dockback_executor.backup").warning("still inside")

    async def main() -> None:
        await asyncio.gather(job("job-a"), job("job-b"))
        logging.getLogger("dockback_executor.app").info("outside")

    asyncio.run(main())
    seen = lines(captured())
    assert {(line["message"], line.get("job_id")) for line in seen} == {
        ("inside job-a", "job-a"),
        ("inside job-b", "job-b"),
        ("still inside", "job-a"),
        ("still inside", "job-b"),
        ("outside", None),
    }
    assert all(line["service"] == "executor" and line["host_id"] == "h1" for line in seen)


def test_text_format_appends_the_job(captured: Callable[[], str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(logs.LOG_FORMAT_ENV, "text")
    logs.setup_logging("uploader", "INFO")
    with logs.job_context("j1"):
        logging.getLogger("x").info("hello")
    logging.getLogger("x").info("bye")
    first, second = captured().splitlines()
    assert first.endswith("INFO x: hello [job j1]")
    assert second.endswith("INFO x: bye")


def test_an_unknown_format_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(logs.LOG_FORMAT_ENV, "yaml")
    with pytest.raises(SystemExit, match="DOCKBACK_LOG_FORMAT must be json or text"):
        logs.setup_logging("notifier")


def test_faststreams_pull_loop_timeout_restart_is_dropped_other_errors_are_kept(
    captured: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(logs.LOG_FORMAT_ENV, raising=False)
    logs.setup_logging("gateway", "INFO")
    broker = logging.getLogger("faststream.access.nats")
    for exc in (TimeoutError(), ConnectionResetError("gone")):
        try:
            raise exc
        except OSError as raised:
            broker.error("Task-16 raised an exception, retrying...\nIf this behavior ...", exc_info=raised)
    broker.info("callback for Task-16 is being executed...")
    broker.info("Received")  # per-message lines: DEBUG only
    [kept] = lines(captured())
    assert "ConnectionResetError: gone" in str(kept["exc"])
