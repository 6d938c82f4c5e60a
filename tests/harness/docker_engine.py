"""The real Docker Engine: a client, locally made images, and labels that let us clean up.

Every container, volume and image a test creates carries `dockback.test=<session>` and
`dockback.test.case=<test>`; the fixtures remove them after each test (failed or not) and
anything left at the end of the session. Nothing is pulled: images are made with
`docker import` from the host's busybox binary.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiodocker
import pytest
import pytest_asyncio

SESSION = uuid.uuid4().hex[:8]
TEST_LABEL = "dockback.test"
CASE_LABEL = "dockback.test.case"

BUSYBOX_APPLETS = (
    *("sh", "tar", "sleep", "cat", "ls", "echo", "true", "false", "mkdir", "rm", "sync", "touch", "stat", "find"),
    *("sha256sum", "id", "chown", "chmod", "ln", "mkfifo", "dd", "head", "wc", "env", "sort", "cut", "readlink"),
    *("printf", "seq", "xargs", "truncate", "cp", "mv", "grep", "awk", "yes", "kill", "gzip"),
)


def _docker(*args: str) -> str:
    return subprocess.run(["docker", *args], check=True, capture_output=True, text=True, timeout=120).stdout


def remove_labelled(label: str) -> None:
    """Remove every container, volume and image carrying `label` (key=value)."""
    containers = _docker("ps", "-aq", "--filter", f"label={label}").split()
    if containers:
        _docker("rm", "-f", "-v", *containers)
    volumes = _docker("volume", "ls", "-q", "--filter", f"label={label}").split()
    for volume in volumes:  # containers the code under test made (runners, recreated ones) may still hold them
        users = _docker("ps", "-aq", "--filter", f"volume={volume}").split()
        if users:
            _docker("rm", "-f", "-v", *users)
    if volumes:
        _docker("volume", "rm", "-f", *volumes)
    images = _docker("images", "-q", "--filter", f"label={label}").split()
    if images:
        subprocess.run(["docker", "rmi", "-f", *set(images)], capture_output=True, check=False)


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[str]:
    """The engine's version; fails (never skips) when no engine answers."""
    if shutil.which("docker") is None:
        pytest.fail("the docker CLI is missing: run deploy/dev/ensure-docker (`make test` does).")
    answer = subprocess.run(
        ["docker", "version", "--format", "{{.Server.Version}}"], capture_output=True, text=True, check=False
    )
    if answer.returncode != 0:
        pytest.fail(f"no Docker Engine answers ({answer.stderr.strip()}): run deploy/dev/ensure-docker.")
    try:
        yield answer.stdout.strip()
    finally:
        remove_labelled(f"{TEST_LABEL}={SESSION}")


@pytest.fixture
def docker_labels(docker_engine: str) -> Iterator[dict[str, str]]:
    """Labels to put on everything this test creates; it is all removed afterwards."""
    case = uuid.uuid4().hex[:12]
    try:
        yield {TEST_LABEL: SESSION, CASE_LABEL: case}
    finally:
        remove_labelled(f"{CASE_LABEL}={case}")


@pytest.fixture
def unique_name() -> str:
    """A Docker object name no other test uses."""
    return f"dbt-{uuid.uuid4().hex[:10]}"


def busybox_rootfs_tar() -> bytes:
    """A root filesystem holding the host's static busybox and its applet links."""
    busybox = Path("/bin/busybox")
    if not busybox.exists():
        pytest.fail("/bin/busybox is missing: install busybox-static (deploy/dev/ensure-docker does).")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for directory in ("bin", "tmp", "etc"):
            info = tarfile.TarInfo(directory)
            info.type, info.mode = tarfile.DIRTYPE, 0o1777 if directory == "tmp" else 0o755
            tar.addfile(info)
        tar.add(busybox, "bin/busybox")
        for applet in BUSYBOX_APPLETS:
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type, link.linkname = tarfile.SYMTYPE, "busybox"
            tar.addfile(link)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def busybox_image(docker_engine: str) -> str:
    """A busybox image made locally with `docker import`, for containers the tests run."""
    reference = f"dockback-test/busybox:{SESSION}"
    subprocess.run(
        [
            "docker",
            "import",
            "--change",
            f"LABEL {TEST_LABEL}={SESSION}",
            "--change",
            'CMD ["sh"]',
            "--change",
            "ENV PATH=/bin",
            "-",
            reference,
        ],
        input=busybox_rootfs_tar(),
        check=True,
        capture_output=True,
    )
    return reference


@pytest_asyncio.fixture
async def docker(docker_engine: str) -> AsyncIterator[aiodocker.Docker]:
    """An aiodocker client on the local engine."""
    client = aiodocker.Docker()
    try:
        yield client
    finally:
        await client.close()
