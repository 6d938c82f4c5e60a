"""`after_commit`, the one way the gateway acts on a change only once it has committed, on a
real PostgreSQL transaction."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from dockback_gateway.db import after_commit, make_sessions


async def test_callbacks_run_after_the_commit_in_order(db_engine: AsyncEngine) -> None:
    ran: list[str] = []
    async with make_sessions(db_engine)() as db:
        await db.execute(text("SELECT 1"))
        after_commit(db, lambda: ran.append("first"))
        after_commit(db, lambda: ran.append("second"))
        assert ran == [], "nothing runs before the commit"
        await db.commit()
    assert ran == ["first", "second"]


async def test_a_rolled_back_transaction_runs_nothing_and_the_next_one_runs_only_its_own(
    db_engine: AsyncEngine,
) -> None:
    ran: list[str] = []
    async with make_sessions(db_engine)() as db:
        await db.execute(text("SELECT 1"))
        after_commit(db, lambda: ran.append("rolled back"), key="snapshot")
        await db.rollback()
        assert ran == []

        await db.execute(text("SELECT 1"))
        after_commit(db, lambda: ran.append("committed"), key="snapshot")
        await db.commit()
        await db.commit()  # a commit with nothing registered runs nothing again
    assert ran == ["committed"]


async def test_a_key_registers_once_per_transaction(db_engine: AsyncEngine) -> None:
    ran: list[str] = []
    async with make_sessions(db_engine)() as db:
        for change in ("a", "b", "c"):
            await db.execute(text("SELECT 1"))
            after_commit(db, lambda change=change: ran.append(change), key="snapshot")  # type: ignore[misc]
        await db.commit()
        after_commit(db, lambda: ran.append("next transaction"), key="snapshot")
        await db.commit()
    assert ran == ["a", "next transaction"]


async def test_with_latest_the_last_callback_under_a_key_wins(db_engine: AsyncEngine) -> None:
    ran: list[str] = []
    async with make_sessions(db_engine)() as db:
        await db.execute(text("SELECT 1"))
        after_commit(db, lambda: ran.append("job 1 started"), key="job 1", latest=True)
        after_commit(db, lambda: ran.append("job 2 queued"), key="job 2", latest=True)
        after_commit(db, lambda: ran.append("job 1 succeeded"), key="job 1", latest=True)
        await db.commit()
    assert ran == ["job 2 queued", "job 1 succeeded"]


async def test_a_failing_callback_is_logged_and_the_others_still_run(
    db_engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    ran: list[str] = []

    def broken() -> None:
        raise RuntimeError("publisher gone")

    async with make_sessions(db_engine)() as db:
        await db.execute(text("SELECT 1"))
        after_commit(db, broken)
        after_commit(db, lambda: ran.append("after the broken one"))
        await db.commit()  # does not raise: the transaction has committed
    assert ran == ["after the broken one"]
    assert "after-commit callback failed" in caplog.text
