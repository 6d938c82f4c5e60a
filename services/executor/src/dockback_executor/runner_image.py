"""The image runner containers start from: made by the executor from its own filesystem, no registry.

Its root filesystem holds the tools of the `runner` strategy taken from where the executor runs
(GNU tar, zstd, gzip, a POSIX shell; `restic` when present), each with the shared libraries the
dynamic loader maps for it (from `ldd`) and the loader itself. It is imported with `docker import`
as `dockback/runner-tools:<version>-<digest of the root filesystem>`, so an executor upgraded, or
whose host's tools changed, makes a new one and an unchanged one reuses what is there. Before it is
trusted it is probed once: its tar must be GNU tar (the strategy relies on `--index-file` and
`--totals`) and its zstd must run.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import os
import shutil
import subprocess
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from dockback_executor import __version__
from dockback_executor.docker_api import DockerEngine

log = logging.getLogger(__name__)

REPOSITORY = "dockback/runner-tools"
REQUIRED_TOOLS = ("sh", "tar", "zstd", "gzip")
OPTIONAL_TOOLS = ("restic",)
PROBE = (
    'case "$(tar --version)" in *"GNU tar"*) ;; *) echo "its tar is not GNU tar" >&2; exit 1 ;; esac; '
    "zstd -V && gzip -V >/dev/null"
)
"""What a runner image must pass before the strategy uses it (GNU tar, a zstd and a gzip that run)."""


class RunnerImageUnavailable(Exception):
    """The runner image cannot be made here; the message says why (a missing tool, no ldd)."""


@dataclass(frozen=True)
class RunnerRootfs:
    """A root filesystem as an uncompressed tar, and the name the image made from it gets."""

    tar: bytes
    digest: str

    @property
    def reference(self) -> str:
        return f"{REPOSITORY}:{__version__}-{self.digest[:12]}"


def shared_libraries(binary: Path) -> list[PurePosixPath]:
    """The files the dynamic loader maps for `binary`, the loader itself included (not the vDSO);
    none for a static binary."""
    try:
        listed = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=False, timeout=30)
    except FileNotFoundError:
        raise RunnerImageUnavailable("ldd is missing, so the libraries of the runner's tools cannot be found") from None
    libraries = []
    for line in listed.stdout.splitlines():
        words = line.split()
        path = words[2] if "=>" in words and len(words) > 2 else (words[0] if words else "")
        if path.startswith("/"):
            libraries.append(PurePosixPath(path))
    return libraries


def find_tools(required: Iterable[str] = REQUIRED_TOOLS, optional: Iterable[str] = OPTIONAL_TOOLS) -> dict[str, Path]:
    """Tool name -> its binary on this filesystem's PATH; RunnerImageUnavailable naming a missing one."""
    found: dict[str, Path] = {}
    for name in required:
        where = shutil.which(name)
        if where is None:
            raise RunnerImageUnavailable(f"{name} is not installed where the executor runs")
        found[name] = Path(where)
    for name in optional:
        if where := shutil.which(name):
            found[name] = Path(where)
    return found


def runner_rootfs(tools: dict[str, Path]) -> RunnerRootfs:
    """A root filesystem with each tool at /bin/<name> and its libraries at the paths the loader
    looks them up at. Reproducible (fixed owners, modes and times, sorted), so its digest names
    what it holds."""
    files: dict[PurePosixPath, Path] = {}
    for name, binary in tools.items():
        files[PurePosixPath("bin", name)] = Path(os.path.realpath(binary))
        for library in shared_libraries(binary):
            files.setdefault(library.relative_to("/"), Path(os.path.realpath(library)))
    directories = {parent for inside in files for parent in inside.parents if str(parent) != "."}
    directories |= {PurePosixPath("tmp"), PurePosixPath("etc")}
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for directory in sorted(directories):
            info = tarfile.TarInfo(str(directory))
            info.type, info.mode = tarfile.DIRTYPE, 0o1777 if directory.name == "tmp" else 0o755
            tar.addfile(info)
        for inside, source in sorted(files.items()):
            info = tarfile.TarInfo(str(inside))
            info.size, info.mode = source.stat().st_size, 0o755
            with open(source, "rb") as content:  # the file itself, even where the host has a link
                tar.addfile(info, content)
    data = buffer.getvalue()
    return RunnerRootfs(tar=data, digest=hashlib.sha256(data).hexdigest())


async def ensure_runner_tools_image(engine: DockerEngine, image: str | None = None) -> str:
    """The runner image, probed: `image` when given (DOCKBACK_RUNNER_IMAGE), else ours, imported
    when this engine does not have it yet. RunnerImageUnavailable saying why it cannot be used."""
    if image is None:
        rootfs = await asyncio.to_thread(lambda: runner_rootfs(find_tools()))
        image = rootfs.reference
        if not await engine.image_exists(image):
            repository, tag = image.split(":", 1)
            await engine.import_image(rootfs.tar, repository, tag, change="ENV PATH=/bin")
            log.info("created runner image %s from the executor's own tools", image)
    code, output = await engine.run_to_end(
        {"Image": image, "Cmd": ["sh", "-c", PROBE], "NetworkDisabled": True, "HostConfig": {"NetworkMode": "none"}}
    )
    if code != 0:
        raise RunnerImageUnavailable(
            f"the runner image {image} failed its probe (GNU tar, zstd and gzip) with exit code {code}: "
            f"{output.strip()[-300:]}"
        )
    return image
