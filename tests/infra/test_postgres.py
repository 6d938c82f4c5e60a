"""The harness gives each test a real PostgreSQL database of its own: the newest schema, no rows."""

from __future__ import annotations

import getpass
import stat
import tempfile
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from dockback_gateway.migrate import alembic_config


async def test_each_test_gets_a_database_of_its_own_with_the_newest_schema_and_no_rows(
    db_engine: AsyncEngine,
) -> None:
    async with db_engine.begin() as connection:
        version = (await connection.execute(text("SHOW server_version"))).scalar_one()
        revision = (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalar_one()
        users = (await connection.execute(text("SELECT count(*) FROM users"))).scalar_one()
        probes = (
            await connection.execute(text("SELECT count(*) FROM information_schema.tables WHERE table_name = 'probe'"))
        ).scalar_one()
        await connection.execute(text("CREATE TABLE probe (id int PRIMARY KEY, note text)"))
        await connection.execute(text("INSERT INTO probe VALUES (1, 'written')"))
    async with db_engine.connect() as connection:
        note = (await connection.execute(text("SELECT note FROM probe WHERE id = 1"))).scalar_one()
    assert int(version.split(".")[0]) >= 16
    heads = ScriptDirectory.from_config(alembic_config("postgresql+asyncpg://unused")).get_heads()
    assert [revision] == heads
    assert (users, probes) == (0, 0)  # nothing another test wrote, nor this test's own probe before
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
