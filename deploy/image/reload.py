#!/usr/bin/env python3
"""`dockback-reload <command...>`: run a command and restart it when a Python file changes.

The dev override (deploy/compose.dev.yaml) mounts the sources and puts them on PYTHONPATH; this
polls the directories in DOCKBACK_RELOAD_DIRS (colon-separated) once a second (no inotify across
bind mounts on every platform) and restarts the service with SIGTERM, then SIGKILL after 10 s.
A crashed service is started again after the next change or 5 s, whichever comes first.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

CRASH_PAUSE = 5.0


def snapshot(roots: list[Path]) -> dict[str, float]:
    stamps: dict[str, float] = {}
    for root in roots:
        for path in root.rglob("*.py"):
            try:
                stamps[str(path)] = path.stat().st_mtime
            except OSError:
                continue
    return stamps


def main() -> None:
    command = sys.argv[1:]
    if not command:
        sys.exit("usage: dockback-reload <command> [args...]")
    roots = [Path(p) for p in os.environ.get("DOCKBACK_RELOAD_DIRS", "/src").split(":") if p]
    stopping = False

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while True:
        before = snapshot(roots)
        child = subprocess.Popen(command)
        while not stopping and child.poll() is None and snapshot(roots) == before:
            time.sleep(1)
        if child.poll() is None:
            if not stopping:
                print("dockback-reload: a source changed; restarting", file=sys.stderr, flush=True)
            child.terminate()
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        if stopping:
            sys.exit(child.returncode or 0)
        if child.returncode not in (None, 0, -signal.SIGTERM):
            # Crashed by itself: again after the next change, or after CRASH_PAUSE seconds.
            print(f"dockback-reload: exited with {child.returncode}; restarting", file=sys.stderr, flush=True)
            deadline = time.monotonic() + CRASH_PAUSE
            while not stopping and snapshot(roots) == before and time.monotonic() < deadline:
                time.sleep(1)


if __name__ == "__main__":
    main()
