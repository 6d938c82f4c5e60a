"""The harness gives each test a real, empty PostgreSQL database."""

from __future__ import annotations

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
