"""The `runner` strategy: a started container with tar and a compressor writes the archive
straight into the data dir, instead of streaming it through the engine's archive API.

It needs a local engine (the data dir is bind-mounted into the runner) and an image that has
`sh`, `tar`, `zstd` and `gzip` (DOCKBACK_RUNNER_IMAGE). The result has the same format as the
stream strategy: a tar of the volume's root as `./...`, compressed; the executor hashes and
counts it afterwards.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import os
from pathlib import Path
from uuid import UUID

from dockback_contracts.base import Compression
from dockback_executor.archive import READ_BYTES, WrittenArchive, fsync_dir, open_decompressed
from dockback_executor.docker_api import RUNNER_LABEL, RUNNER_MOUNT, DockerEngine, finish_even_if_cancelled
from dockback_executor.tar_inspect import TarStreamCounter
from dockback_runtime.jobs.errors import PermanentError
from dockback_runtime.partials import open_partial, partial_of

_COMPRESSORS = {"zstd": "zstd -q -T0 -{level}", "gzip": "gzip -{level}", "none": "cat"}
_DEFAULT_LEVEL = {"zstd": 3, "gzip": 6, "none": 0}


_NO_SPACE = {"no space left on device": errno.ENOSPC, "disk quota exceeded": errno.EDQUOT}


class RunnerArchiveFailed(Exception):
    """The runner could not write the archive for a reason no retry heals (`cause`: the data dir is
    full); its partial file, `written_bytes` long when the runner stopped, is removed."""

    def __init__(self, cause: OSError, written_bytes: int) -> None:
        super().__init__(str(cause))
        self.cause = cause
        self.written_bytes = written_bytes


class RunnerStrategy:
    """Archives volumes with a runner container that has the tools inside."""

    def __init__(self, engine: DockerEngine, image: str) -> None:
        self.engine = engine
        self.image = image

    async def archive_volume(
        self, volume: str, final: Path, compression: Compression, level: int | None, job_id: UUID
    ) -> WrittenArchive:
        await self.engine.volume(volume)
        await self.engine.remove_unremoved_runners()
        temporary = partial_of(final)
        # The executor holds the partial file (locked: no cleanup at another executor's start
        # removes it) while the runner writes into it (`>` keeps the same file).
        held = await asyncio.to_thread(open_partial, final, exclusive=True)
        compress = _COMPRESSORS[compression].format(level=_DEFAULT_LEVEL[compression] if level is None else level)
        script = f"set -o pipefail; tar -C {RUNNER_MOUNT} -cf - . | {compress} > /out/{temporary.name}"
        config = {
            "Image": self.image,
            "Cmd": ["sh", "-c", script],
            "Labels": {RUNNER_LABEL: "1", **self.engine.runner_labels, "dockback.job": str(job_id)},
            "NetworkDisabled": True,
            "HostConfig": {
                "NetworkMode": "none",
                "Mounts": [
                    {
                        "Type": "volume",
                        "Source": volume,
                        "Target": RUNNER_MOUNT,
                        "ReadOnly": True,
                        "VolumeOptions": {"NoCopy": True},
                    },
                    {"Type": "bind", "Source": str(final.parent), "Target": "/out"},
                ],
            },
        }
        try:
            container_id = await self.engine.create_container(config)
        except BaseException:
            temporary.unlink(missing_ok=True)
            held.close()
            raise
        try:
            await self.engine.start_container(container_id)
            code, logs = await self.engine.wait_container(container_id)
            if code != 0:
                for words, number in _NO_SPACE.items():
                    if words in logs.lower():
                        written = await asyncio.to_thread(_size_of, temporary)
                        temporary.unlink(missing_ok=True)
                        cause = OSError(number, os.strerror(number), str(temporary))
                        raise RunnerArchiveFailed(cause, written)
                raise PermanentError(f"runner for volume {volume!r} exited with {code}: {logs.strip()[-500:]}")
            return await asyncio.to_thread(_seal, temporary, final, compression)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        finally:
            held.close()
            try:
                await finish_even_if_cancelled(self.engine.remove_container(container_id, force=True))
            except Exception:
                self.engine.remove_runner_later(container_id)


def _size_of(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _seal(temporary: Path, final: Path, compression: Compression) -> WrittenArchive:
    """Hash and count what the runner wrote, make it durable and rename it into place."""
    digest = hashlib.sha256()
    size = 0
    with open(temporary, "rb") as f:
        while block := f.read(READ_BYTES):
            digest.update(block)
            size += len(block)
        os.fsync(f.fileno())
    counter = TarStreamCounter()
    with open_decompressed(temporary, compression) as tar_stream:
        while block := tar_stream.read(READ_BYTES):
            counter.feed(block)
    if not counter.complete:
        raise PermanentError("the runner's archive is incomplete (no end-of-archive marker)")
    os.replace(temporary, final)
    fsync_dir(final.parent)
    return WrittenArchive(
        path=final,
        sha256=digest.hexdigest(),
        size_bytes=size,
        raw_bytes=counter.raw_bytes,
        file_count=counter.file_count,
    )
