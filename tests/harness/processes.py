"""Starting a server as a subprocess and waiting until it says it is ready."""

from __future__ import annotations

import socket
import subprocess
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_and_wait(argv: list[str], ready_marker: str, log_path: Path, timeout: float = 30.0) -> subprocess.Popen[str]:
    """Start `argv` and return once a line of its output contains `ready_marker`.

    Every line of output goes to `log_path`; a thread keeps draining it so the server
    never blocks on a full pipe.
    """
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    ready = threading.Event()
    assert process.stdout is not None
    stream = process.stdout

    def drain() -> None:
        with log_path.open("a") as log:
            for line in stream:
                log.write(line)
                log.flush()
                if ready_marker in line:
                    ready.set()

    threading.Thread(target=drain, name=f"drain {argv[0]}", daemon=True).start()
    if not ready.wait(timeout):
        process.kill()
        process.wait()
        pytest.fail(
            f"{argv[0]} did not become ready within {timeout}s; its output is in {log_path}:\n"
            + log_path.read_text()[-2000:]
        )
    return process


def stop(process: subprocess.Popen[str], timeout: float = 10.0) -> None:
    """Stop a server by its PID: SIGTERM, then SIGKILL if it lingers."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def stop_all(processes: Iterable[subprocess.Popen[Any]], timeout: float = 15.0) -> None:
    """Stop several at once: SIGTERM to all first (they shut down in parallel), then wait for
    each and SIGKILL the ones that linger."""
    processes = list(processes)
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
