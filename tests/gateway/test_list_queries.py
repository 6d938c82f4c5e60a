"""Every query behind a list the web UI reads is served by an index: with a seeded catalog, each
route is called with each filter while its SQL is captured, and PostgreSQL's plan of each query
(EXPLAIN, after ANALYZE) may neither scan a big table whole nor sort a large part of one.

A missing index shows up as a `Seq Scan` of the table or a `Sort` of many rows; an offset page or
an aggregate over every row does too. bench/api_catalog.py measures the same routes' latency at
the full size (100,000 jobs, 300,000 artifacts)."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from sqlalchemy import event

from gateway.conftest import Gateway, logged_in_admin
from harness.catalog_seed import Seeded, seed_catalog

SCALE = 0.05  # 5,000 jobs, 15,000 log lines and artifacts: enough for the planner to prefer an index
BIG_TABLES = {"jobs", "job_events", "artifacts", "artifact_copies", "audit_log"}
SORTED_ROWS_ALLOWED = 1000  # a sort of more rows than that is a list ordered without its index


@dataclass(frozen=True)
class Query:
    route: str
    sql: str
    parameters: tuple[Any, ...]


def nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from nodes(child)


def problems_of(plan: dict[str, Any]) -> list[str]:
    """What in a plan reads a big table without an index."""
    found = []
    for node in nodes(plan):
        kind = node["Node Type"]
        if kind == "Seq Scan" and node.get("Relation Name") in BIG_TABLES:
            found.append(f"Seq Scan on {node['Relation Name']} ({node.get('Filter', 'no filter')[:200]})")
        if kind == "Sort":
            sorted_rows = max(child["Plan Rows"] for child in node.get("Plans", [node]))
            if sorted_rows > SORTED_ROWS_ALLOWED:
                found.append(f"Sort of ~{sorted_rows} rows by {node.get('Sort Key')}")
    return found


def ui_routes(seeded: Seeded, deep: dict[str, str]) -> dict[str, list[str]]:
    """The list routes of the web UI with each of their filters, by page."""
    rng = random.Random(3)
    host, plan, resource, actor = (
        rng.choice(seeded.host_ids),
        rng.choice(seeded.plan_ids),
        rng.choice(seeded.resource_names),
        rng.choice(seeded.actors),
    )
    week_ago = (datetime.now(UTC) - timedelta(days=7)).isoformat().replace("+00:00", "Z")
    return {
        "jobs": [
            "/jobs",
            "/jobs?status=failed",
            "/jobs?status=running",
            "/jobs?kind=backup",
            "/jobs?kind=restore",
            f"/jobs?host_id={host}",
            f"/jobs?plan_id={plan}",
            f"/jobs?since={week_ago}",
            f"/jobs?host_id={host}&status=failed",
            f"/jobs?cursor={deep['jobs']}",
            f"/jobs?host_id={host}&cursor={deep['jobs']}",
        ],
        "artifacts": [
            "/artifacts",
            f"/artifacts?host_id={host}",
            f"/artifacts?plan_id={plan}",
            f"/artifacts?resource_name={resource}",
            "/artifacts?resource_kind=volume",
            "/artifacts?state=available",
            "/artifacts?state=pruned",
            "/artifacts?verified=true",
            "/artifacts?verified=false",
            f"/artifacts?cursor={deep['artifacts']}",
        ],
        "audit": [
            "/audit",
            f"/audit?actor={actor}",
            "/audit?action=login",
            "/audit?outcome=failure",
            f"/audit?before={deep['audit']}",
        ],
        "dashboard and plans": ["/dashboard", "/plans", "/resources/hosts"],
        "resources": ["/resources/volumes", "/resources/containers", "/resources/images"],
    }


async def deep_pages(client: Any) -> dict[str, str]:
    """A cursor a few pages into each list."""
    jobs = (await client.get("/jobs", params={"limit": 200})).json()
    artifacts = (await client.get("/artifacts", params={"limit": 500})).json()
    audit = (await client.get("/audit", params={"limit": 1})).json()
    return {
        "jobs": jobs["next_cursor"],
        "artifacts": artifacts["next_cursor"],
        "audit": str(audit["entries"][0]["id"] // 2),
    }


@pytest.mark.parametrize("lists", ["jobs", "artifacts", "audit", "dashboard and plans"])
async def test_every_list_query_is_served_by_an_index(gateway: Gateway, database_url: str, lists: str) -> None:
    dsn = database_url.replace("postgresql+asyncpg://", "postgresql://")
    async with logged_in_admin(gateway) as client:
        seeded = await seed_catalog(dsn, SCALE)
        routes = ui_routes(seeded, await deep_pages(client))[lists]
        captured: list[Query] = []
        current = {"route": ""}

        def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
            if statement.lstrip().upper().startswith(("SELECT", "WITH")):
                captured.append(Query(current["route"], statement, tuple(parameters or ())))

        engine = gateway.app.state.engine.sync_engine
        event.listen(engine, "before_cursor_execute", capture)
        try:
            for route in routes:
                current["route"] = route
                response = await client.get(route)
                assert response.status_code == 200, (route, response.text)
        finally:
            event.remove(engine, "before_cursor_execute", capture)

    assert {q.route for q in captured} == set(routes), "every route's queries were captured"
    reading_big_tables = [q for q in captured if any(table in q.sql for table in BIG_TABLES)]
    conn = await asyncpg.connect(dsn)
    try:
        found = []
        for query in reading_big_tables:
            explained = await conn.fetchval("EXPLAIN (FORMAT JSON) " + query.sql, *query.parameters)
            plan = (json.loads(explained) if isinstance(explained, str) else explained)[0]["Plan"]
            found += [
                f"{query.route}: {problem}\n    {' '.join(query.sql.split())[:300]}" for problem in problems_of(plan)
            ]
    finally:
        await conn.close()
    assert not found, "queries that read a big table without an index:\n" + "\n".join(found)
