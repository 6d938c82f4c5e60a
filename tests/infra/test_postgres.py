"""The harness gives each test a real, empty PostgreSQL database."""

from __future__ import annotations

import getpass
import stat
import tempfile
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


async def test_each_test_gets_an_empty_database_on_a_real_postgres(db_engine: AsyncEngine) -> None:
    async with db_engine.begin() as connection:
        version = (await connection.execute(text("SHOW server_version"))).scalar_one()
        tables = (
            await connection.execute(
                text("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
            )
        ).scalar_one()
        await connection.execute(text("CREATE TABLE probe (id int PRIMARY KEY, note text)"))
        await connection.execute(text("INSERT INTO probe VALUES (1, 'written')"))
    async with db_engine.connect() as connection:
        note = (await connection.execute(text("SELECT note FROM probe WHERE id = 1"))).scalar_one()
    assert int(version.split(".")[0]) >= 16
    assert tables == 0
    assert note == "written"


async def test_the_server_outlives_another_test_session_starting(db_engine: AsyncEngine) -> None:
    """Every pytest session that starts makes /tmp/pytest-of-<user> private (mode 0700); on a
    machine where test runs overlap, the server of a running session must keep its data."""
    # pytest's own root, whatever --basetemp this session was given (never its parent: /tmp).
    sessions_root = Path(tempfile.gettempdir()) / f"pytest-of-{getpass.getuser()}"
    sessions_root.mkdir(mode=0o700, exist_ok=True)
    mode = sessions_root.stat().st_mode
    sessions_root.chmod(0o700)  # what pytest does when another session starts
    try:
        async with db_engine.begin() as connection:
            await connection.execute(text("CHECKPOINT"))  # the server writes its data files now
            await connection.execute(text("CREATE TABLE after_another_session (id int)"))
        async with db_engine.connect() as connection:
            assert (await connection.execute(text("SELECT count(*) FROM after_another_session"))).scalar_one() == 0
    finally:
        sessions_root.chmod(stat.S_IMODE(mode))
