"""Another process writing a partial file (dockback_runtime.partials), for as long as a test needs."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HOLD = """
import sys
from pathlib import Path
from dockback_runtime.partials import open_partial
file = open_partial(Path(sys.argv[1]))
file.write(b"being written")
file.flush()
print("held", flush=True)
sys.stdin.read()  # until the test closes our stdin
"""


@contextmanager
def held_by_another_process(final: Path) -> Iterator[None]:
    """Another process writing `final`'s partial file, until the block ends."""
    writer = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(final)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "held"
        yield
    finally:
        assert writer.stdin is not None
        writer.stdin.close()
        writer.wait(timeout=30)
