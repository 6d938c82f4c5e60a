#!/usr/bin/env python3
"""The compose smoke test (`make smoke`): DockBack from deploy/compose.yaml, end to end.

With local images only (`make images` built them; nothing is pulled or built by compose), in a
copy of deploy/'s compose files with its own secrets (deploy/secrets/ is not touched):
1. creates a Docker volume holding a file and the compose secrets;
2. `docker-compose up -d --no-build` of compose.yaml (NATS with per-service credentials, made by
   the one-shot nats-auth service) under its own project name and free ports; checks that NATS
   refuses a client without credentials; adds the second host as its operator would (`run --rm
   nats-auth --agent smoke2 --export ...`, then a reload of NATS) and brings up
   compose.agent.yaml as that host ("smoke2": its own project, network and credentials, NATS
   through the host's port); waits until every service's healthcheck passes;
3. reads the first admin's password from the gateway's log, logs in through the API, changes the
   password as the first login must, logs in again;
4. backs the volume up ad hoc (POST /jobs) on each host, waits for the jobs to succeed, and
   checks the artifacts: each archive in its host's data volume has the announced size and
   sha256 and holds the file;
5. tears everything down (`down -v`, the volume), also when a step failed, after printing the
   state and logs of the services.

Standard library only (runs on the host's python3). Environment: DOCKBACK_IMAGE, POSTGRES_IMAGE,
COMPOSE (default "docker-compose"), SMOKE_PROJECT, SMOKE_TIMEOUT (seconds per wait, default 180),
SMOKE_KEEP=1 (leave the stack up for a look).
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

DEPLOY = Path(__file__).resolve().parents[1]
PROJECT = os.environ.get("SMOKE_PROJECT", "dockback-smoke")
DOCKBACK_IMAGE = os.environ.get("DOCKBACK_IMAGE", "dockback:local")
POSTGRES_IMAGE = os.environ.get("POSTGRES_IMAGE", "dockback-local/postgres:15")
HELPER_IMAGE = os.environ.get("SMOKE_HELPER_IMAGE", "dockback-local/debian:bookworm")
TIMEOUT = float(os.environ.get("SMOKE_TIMEOUT", "180"))
HOST_ID = "smoke"
AGENT_HOST_ID = "smoke2"
SERVICES = ("postgres", "nats", "gateway", "scheduler", "executor", "uploader", "notifier")
AGENT_SERVICES = ("executor", "uploader")
COPIED = ("compose.yaml", "compose.agent.yaml", ".env", "nats/nats-server.conf", "nats/nats-server-auth.conf")
STARTED = time.monotonic()


class SmokeFailed(Exception):
    pass


def say(message: str) -> None:
    print(f"smoke [{time.monotonic() - STARTED:6.1f}s] {message}", flush=True)


def run(argv: list[str], *, check: bool = True, capture: bool = True, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(argv, capture_output=capture, text=True, env=env, check=False)
    if check and done.returncode != 0:
        detail = (done.stderr or done.stdout or "").strip() if capture else ""
        raise SmokeFailed(f"{shlex.join(argv)} exited {done.returncode}\n{detail}")
    return done.stdout if capture else ""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Compose:
    """docker-compose for one project of the copied compose files."""

    def __init__(self, workdir: Path, project: str, files: list[str], env: dict[str, str]) -> None:
        self.project = project
        self.env = {**os.environ, "COMPOSE_PROJECT_NAME": project, "DOCKBACK_IMAGE": DOCKBACK_IMAGE, **env}
        tool = shlex.split(os.environ.get("COMPOSE", "docker-compose"))
        self.base = [*tool, "-p", project, *(a for f in files for a in ("-f", str(workdir / f)))]

    def __call__(self, *args: str, check: bool = True, capture: bool = True) -> str:
        return run([*self.base, *args], check=check, capture=capture, env=self.env)

    def container(self, service: str) -> str:
        return self("ps", "-q", service).strip()

    def health(self, service: str) -> str:
        cid = self.container(service)
        if not cid:
            return "missing"
        state = run(
            ["docker", "inspect", "-f", "{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}", cid]
        )
        status, _, health = state.strip().partition(" ")
        return health or status


class Api:
    """The gateway's API with a cookie session and the CSRF header, as the web UI uses it."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))
        self.csrf = ""

    def call(self, method: str, path: str, body: Any = None, expect: tuple[int, ...] = (200,)) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)  # noqa: S310 - http:// only
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self.csrf:
            request.add_header("X-CSRF-Token", self.csrf)
        try:
            with self.opener.open(request, timeout=30) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        if status not in expect:
            raise SmokeFailed(f"{method} {path} answered {status}: {raw.decode(errors='replace')[:500]}")
        return json.loads(raw) if raw else None

    def login(self, username: str, password: str) -> dict[str, Any]:
        self.cookies.clear()
        self.csrf = ""
        answer: dict[str, Any] = self.call("POST", "/auth/login", {"username": username, "password": password})
        if not answer.get("logged_in"):
            raise SmokeFailed(f"login did not complete: {answer}")
        self.csrf = answer["csrf_token"]
        return answer


def wait_for(what: str, check: Any, timeout: float = TIMEOUT, every: float = 1.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise SmokeFailed(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(every)


def check_images() -> None:
    for image in (DOCKBACK_IMAGE, POSTGRES_IMAGE, HELPER_IMAGE):
        if subprocess.run(["docker", "image", "inspect", image], capture_output=True, check=False).returncode:
            raise SmokeFailed(f"image {image} is missing: run `make images` first (nothing is pulled)")


def make_volume(name: str, content: str) -> None:
    run(["docker", "volume", "create", "--label", "dockback.smoke=1", name])
    run(["docker", "run", "--rm", "--network", "none", "-v", f"{name}:/v", HELPER_IMAGE,
         "sh", "-c", f"printf %s {shlex.quote(content)} > /v/hello.txt"])  # fmt: skip


def wait_healthy(compose: Compose, services: tuple[str, ...]) -> None:
    def all_healthy() -> bool:
        states = {s: compose.health(s) for s in services}
        bad = [s for s, h in states.items() if h in ("unhealthy", "exited", "dead", "missing")]
        if bad:
            raise SmokeFailed(f"services not running or unhealthy: {', '.join(f'{s}={states[s]}' for s in bad)}")
        return all(h == "healthy" for h in states.values())

    wait_for(f"every service of {compose.project} to be healthy", all_healthy)


def first_admin_password(compose: Compose) -> str:
    def find() -> str | None:
        match = re.search(r"log in as 'admin' with password (\S+)", compose("logs", "--no-color", "gateway"))
        return match.group(1) if match else None

    return str(wait_for("the first admin's password in the gateway's log", find, timeout=60))


def check_artifact(compose: Compose, artifact: dict[str, Any], content: str) -> None:
    """Size, sha256 and content of the archive, read inside the executor's container."""
    script = (
        "import hashlib, io, json, sys, tarfile, zstandard\n"
        "from pathlib import Path\n"
        "p = Path(sys.argv[1]); p = p if p.is_absolute() else Path('/data/backups') / p\n"
        "data = p.read_bytes()\n"
        "zstd = data[:4] == bytes.fromhex('28b52ffd')\n"
        "raw = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data)).read() if zstd else data\n"
        "names = {}\n"
        "with tarfile.open(fileobj=io.BytesIO(raw)) as tar:\n"
        "    for m in tar.getmembers():\n"
        "        if m.isfile() and m.name.endswith('hello.txt'):\n"
        "            names[m.name] = tar.extractfile(m).read().decode()\n"
        "print(json.dumps({'size': len(data), 'sha256': hashlib.sha256(data).hexdigest(), 'files': names}))\n"
    )
    out = compose("exec", "-T", "executor", "python", "-c", script, artifact["path"])
    found = json.loads(out.strip().splitlines()[-1])
    if found["size"] != artifact["size_bytes"] or found["sha256"] != artifact["sha256"]:
        raise SmokeFailed(f"archive {artifact['path']} does not match its catalog entry: {found} vs {artifact}")
    if content not in found["files"].values():
        raise SmokeFailed(f"archive {artifact['path']} does not hold hello.txt with the content: {found['files']}")


def report_failure(compose: Compose, services: tuple[str, ...]) -> None:
    print(f"smoke: the state of {compose.project}'s services and the logs of those not healthy:", flush=True)
    for service in services:
        try:
            state = compose.health(service)
        except SmokeFailed as exc:
            state = f"? ({exc})"
        print(f"  {service:<10} {state}", flush=True)
        if state != "healthy":
            print(f"----- logs of {compose.project} {service} (last 80 lines) -----", flush=True)
            compose("logs", "--no-color", "--tail", "80", service, check=False, capture=False)


def prepare(workdir: Path) -> None:
    """A copy of the compose files with its own secrets."""
    for name in COPIED:
        (workdir / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(DEPLOY / name, workdir / name)
    run([str(DEPLOY / "compose-secrets.sh"), str(workdir / "secrets")])


def export_agent_credentials(main: Compose, workdir: Path) -> None:
    """The second host's NATS credentials, made as compose.agent.yaml tells its operator to, into the
    secrets directory beside the agent's compose file (executor.creds, uploader.creds)."""
    main("run", "--rm", "-v", f"{workdir / 'secrets'}:/export", "nats-auth",
         "--agent", AGENT_HOST_ID, "--export", "/export")  # fmt: skip
    for role in ("executor", "uploader"):
        if not (workdir / "secrets" / f"{role}.creds").is_file():
            raise SmokeFailed(f"nats-auth --agent did not export {role}.creds")


def anonymous_nats_refused(port: int) -> None:
    """A client without credentials on the published NATS port gets an authorization violation."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        stream = conn.makefile("rwb")
        info = stream.readline()
        if not info.startswith(b"INFO ") or not json.loads(info[5:]).get("auth_required"):
            raise SmokeFailed(f"NATS does not require authorization: {info[:300]!r}")
        stream.write(b'CONNECT {"verbose":false,"pedantic":false,"name":"smoke-anonymous"}\r\nPING\r\n')
        stream.flush()
        answer = stream.readline()
    if b"Authorization Violation" not in answer:
        raise SmokeFailed(f"NATS answered an anonymous client with {answer[:300]!r}, not an authorization violation")


def backup(api: Api, compose: Compose, host_id: str, volume: str, content: str) -> None:
    job = api.call("POST", "/jobs", {"host_id": host_id, "resource": {"kind": "volume", "name": volume}}, (202,))
    job_id = job["id"]

    def ended() -> dict[str, Any] | None:
        detail: dict[str, Any] = api.call("GET", f"/jobs/{job_id}")
        return detail if detail["status"] in ("succeeded", "failed", "cancelled") else None

    detail = wait_for(f"job {job_id} on {host_id} to end", ended)
    if detail["status"] != "succeeded":
        raise SmokeFailed(f"job {job_id} ended {detail['status']}: {json.dumps(detail.get('events', []))[:2000]}")
    artifacts = [a for a in detail["artifacts"] if a["resource_name"] == volume]
    if not artifacts:
        raise SmokeFailed(f"job {job_id} succeeded without an artifact for {volume}: {detail['artifacts']}")
    say(f"{host_id}: job {job_id} succeeded: {artifacts[0]['path']} ({artifacts[0]['size_bytes']} bytes)")
    check_artifact(compose, artifacts[0], content)
    say(f"{host_id}: the archive in its data volume matches its size and sha256 and holds hello.txt")


def smoke(main: Compose, agent: Compose, workdir: Path, ports: dict[str, int], volume: str) -> None:
    content = f"DockBack smoke {secrets.token_hex(8)}\n"
    say(f"creating volume {volume} with hello.txt")
    make_volume(volume, content)
    say(
        f"docker-compose up {main.project} (compose.yaml; API :{ports['api']}, "
        f"UI :{ports['ui']}, NATS :{ports['nats']}; images {DOCKBACK_IMAGE}, {POSTGRES_IMAGE})"
    )
    main("up", "-d", "--no-build", *SERVICES)
    say("waiting for every healthcheck")
    wait_healthy(main, SERVICES)
    say(f"all healthy: {', '.join(SERVICES)}")
    anonymous_nats_refused(ports["nats"])
    say("NATS refuses a client without credentials (Authorization Violation)")
    say(f"adding host {AGENT_HOST_ID} as its operator would: run --rm nats-auth --agent, then reload NATS")
    export_agent_credentials(main, workdir)
    main("kill", "-s", "HUP", "nats")
    say(
        f"docker-compose up {agent.project} (compose.agent.yaml, host {AGENT_HOST_ID}, "
        f"{agent.env['DOCKBACK_NATS_URL']})"
    )
    agent("up", "-d", "--no-build")
    wait_healthy(agent, AGENT_SERVICES)
    say(f"agent healthy: {', '.join(AGENT_SERVICES)}")

    ui = urllib.request.urlopen(f"http://127.0.0.1:{ports['ui']}/", timeout=10).read().decode()
    if "<script" not in ui:
        raise SmokeFailed(f"the web UI's / is not the app: {ui[:200]}")
    api = Api(f"http://127.0.0.1:{ports['api']}")
    password = first_admin_password(main)
    say("logging in as admin with the printed password")
    if api.login("admin", password).get("must_change_password"):
        new_password = "smoke-" + secrets.token_urlsafe(18)
        api.call("POST", "/users/me/password", {"current_password": password, "new_password": new_password}, (204,))
        api.login("admin", new_password)
        say("changed the first password and logged in again")

    def hosts_reported() -> bool:
        online = {h["host_id"] for h in api.call("GET", "/resources/hosts") if h.get("online")}
        return {HOST_ID, AGENT_HOST_ID} <= online

    wait_for(f"hosts {HOST_ID} and {AGENT_HOST_ID} to report", hosts_reported)
    say(f"hosts {HOST_ID} and {AGENT_HOST_ID} online; backing up volume {volume} on each")
    backup(api, main, HOST_ID, volume, content)
    backup(api, agent, AGENT_HOST_ID, volume, content)


def bridge_gateway() -> str:
    """Where a container on another network reaches this machine's published ports."""
    out = run(["docker", "network", "inspect", "bridge", "-f", "{{range .IPAM.Config}}{{.Gateway}} {{end}}"])
    return out.split()[0] if out.split() else "172.17.0.1"


def main() -> int:
    try:
        check_images()
    except SmokeFailed as exc:
        print(f"smoke: {exc}", file=sys.stderr)
        return 1
    workdir = Path(tempfile.mkdtemp(prefix="dockback-smoke."))
    gid = os.stat("/var/run/docker.sock").st_gid if os.path.exists("/var/run/docker.sock") else 0
    ports = {"api": free_port(), "ui": free_port(), "nats": free_port()}
    common = {"DOCKER_GID": str(gid), "DOCKBACK_LOG_LEVEL": "INFO"}
    main_stack = Compose(
        workdir,
        PROJECT,
        ["compose.yaml"],
        {
            **common,
            "POSTGRES_IMAGE": POSTGRES_IMAGE,
            "DOCKBACK_HOST_ID": HOST_ID,
            "DOCKBACK_API_PORT": str(ports["api"]),
            "DOCKBACK_UI_PORT": str(ports["ui"]),
            "DOCKBACK_NATS_BIND": "0.0.0.0",  # noqa: S104 - the agent's network reaches it through the host; auth is on
            "DOCKBACK_NATS_PORT": str(ports["nats"]),
            "DOCKBACK_BASE_URL": f"http://localhost:{ports['ui']}",
        },
    )
    agent = Compose(
        workdir,
        f"{PROJECT}-agent",
        ["compose.agent.yaml"],
        {
            **common,
            "DOCKBACK_HOST_ID": AGENT_HOST_ID,
            "DOCKBACK_NATS_URL": f"nats://{bridge_gateway()}:{ports['nats']}",
        },
    )
    volume = f"dockback-smoke-{secrets.token_hex(4)}"
    failed = False
    try:
        prepare(workdir)
        smoke(main_stack, agent, workdir, ports, volume)
    except (SmokeFailed, OSError) as exc:
        failed = True
        print(f"smoke: FAILED: {exc}", file=sys.stderr, flush=True)
        report_failure(main_stack, ("nats-auth", *SERVICES))
        report_failure(agent, AGENT_SERVICES)
    except BaseException:
        failed = True
        report_failure(main_stack, SERVICES)
        report_failure(agent, AGENT_SERVICES)
        raise
    finally:
        if os.environ.get("SMOKE_KEEP") == "1":
            say(f"SMOKE_KEEP=1: leaving {PROJECT} and {agent.project} up (files in {workdir})")
        else:
            say("tearing down (down -v)")
            agent("down", "-v", "--remove-orphans", "--timeout", "20", check=False)
            main_stack("down", "-v", "--remove-orphans", "--timeout", "20", check=False)
            run(["docker", "volume", "rm", "-f", volume], check=False)
            shutil.rmtree(workdir, ignore_errors=True)
    say("FAILED" if failed else "PASSED")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
