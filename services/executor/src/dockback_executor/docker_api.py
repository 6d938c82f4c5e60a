"""The one place that speaks to the Docker Engine (aiodocker, over its socket or DOCKER_HOST).

Archives are streamed, never buffered: aiodocker's `get_archive()` reads the whole tar into
memory, so we read the raw response ourselves. We ask for `Accept-Encoding: identity`
because aiohttp otherwise asks for gzip and the engine then compresses the tar stream,
about ten times slower than sending it as it is.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import io
import json
import logging
import re
import tarfile
from collections.abc import AsyncIterator, Awaitable, Mapping
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import aiodocker
import aiohttp
from aiodocker.exceptions import DockerError

from dockback_executor import __version__
from dockback_executor.errors import EngineFailed, EngineRefused, EngineUnavailable, ResourceMissing
from dockback_runtime.jobs.errors import JobError

log = logging.getLogger(__name__)

T = TypeVar("T")

RUNNER_REPOSITORY = "dockback/runner"
RUNNER_LABEL = "dockback.runner"
RUNNER_MOUNT = "/volume"
CHUNK_BYTES = 1024 * 1024
SYMLINK_MODE = 1 << 27  # os.ModeSymlink in the engine's (Go's) file modes
DIRECTORY_MODE = 1 << 31  # os.ModeDir
_NO_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_read=None, sock_connect=30)
_IDENTITY = {"Accept-Encoding": "identity"}
_RECENT_RUNNERS = 1024  # runner ids remembered: far more than run at once, so their late events are still known


PERMANENT_ENGINE_FAILURES = (
    "file name too long",
    "no space left on device",
    "disk quota exceeded",
    "file too large",
    "invalid argument",
    "read-only file system",
    "invalid reference format",
    "invalid tag format",
)
"""What the engine says (inside a 500, or in the body of a `docker load`) when its own system call or
parser failed in a way that fails again on every attempt: retrying only delays the failure."""


_DOMAIN_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_PATH_PART = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPOSITORY = re.compile(rf"(?:{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*(?::[0-9]+)?/)?{_PATH_PART}(?:/{_PATH_PART})*")
_TAG = re.compile(r"[\w][\w.-]{0,127}", re.ASCII)
_IMAGE_ID = re.compile(r"sha256:[0-9a-f]{64}|[0-9a-f]{64}")


def image_id_named(name: str) -> bool:
    """Whether `name` is a full image id (`sha256:<hex>` or its 64 hex digits) rather than a tag."""
    return _IMAGE_ID.fullmatch(name) is not None


def split_image_reference(name: str) -> tuple[str, str]:
    """`repository[:tag]` as (repository, tag), by the engine's reference grammar; ValueError saying
    what is wrong when `name` cannot be a tag (a digest, upper case, a bad character)."""
    if "@" in name:
        raise ValueError("a reference with a digest (@sha256:...) cannot be given to an image as its name")
    repository, _, tag = name.rpartition(":") if ":" in name.rsplit("/", 1)[-1] else (name, "", "latest")
    if not _REPOSITORY.fullmatch(repository):
        raise ValueError(
            f"{repository!r} is not a repository name (lower-case letters, digits and . _ - separators, "
            "parts joined by /, an optional registry host first)"
        )
    if not _TAG.fullmatch(tag):
        raise ValueError(f"{tag!r} is not a tag (letters, digits, _ . -, at most 128, not starting with . or -)")
    if len(repository) > 255:
        raise ValueError(f"the repository name is {len(repository)} characters long; at most 255 are allowed")
    return repository, tag


def engine_failure_is_permanent(message: str) -> bool:
    """Whether an engine error message names a failure no retry can heal."""
    lowered = message.lower()
    return any(failure in lowered for failure in PERMANENT_ENGINE_FAILURES)


_LONG_WORD = re.compile(r"[^\s/:]{81,}")


def brief(message: str) -> str:
    """An engine message short enough for a job's reason: the engine quotes the paths it failed on,
    and a path component of thousands of characters (the very cause of "file name too long") would
    fill the UI and the alert mail."""
    shortened = _LONG_WORD.sub(lambda m: f"{m.group()[:40]}...({len(m.group())} characters)", message)
    return shortened if len(shortened) <= 1000 else shortened[:1000] + "..."


def _translate(exc: DockerError, what: str) -> JobError:
    """An engine error as a job error: 404 is permanent, 5xx and unreachable (900) are transient
    unless the engine's message names a failure that cannot heal (a name too long, a full disk)."""
    message = brief(str(exc.message))
    if exc.status == 404:
        return ResourceMissing(f"{what} does not exist on this Docker host")
    if exc.status >= 500 and engine_failure_is_permanent(message):
        return EngineFailed(f"the Docker Engine failed on {what}: {message}")
    if exc.status >= 500:
        return EngineUnavailable(f"Docker Engine error on {what}: {message}")
    return EngineRefused(f"the Docker Engine refused {what}: {message}")


async def finish_even_if_cancelled(awaitable: Awaitable[T]) -> T:
    """Await cleanup to its end even when the job is being cancelled, then let the cancellation go on.

    Cleanup here is a runner to remove or a container to restart: leaving it half done keeps
    a volume busy or a service down. Cancellation may arrive again and again (an anyio cancel
    scope re-delivers it at every await), so the cleanup runs shielded until it is done.
    """
    task = asyncio.ensure_future(awaitable)
    cancelled = False
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            cancelled = True
    if cancelled:
        task.result()  # a cleanup error still surfaces
        raise asyncio.CancelledError
    return task.result()


class DockerEngine:
    """A connection to one Docker Engine, with the operations DockBack needs."""

    def __init__(self, url: str | None = None, runner_labels: Mapping[str, str] | None = None) -> None:
        self._docker = aiodocker.Docker(url=url)
        self.runner_labels = dict(runner_labels or {})  # e.g. which executor instance owns a runner
        self._unremoved_runners: set[str] = set()  # removal failed (engine unreachable): retried before the next
        # The ids of the runner containers this engine object made, most recent last: the engine's
        # volume events (mount, unmount) name the container but not its labels.
        self.recent_runners: collections.OrderedDict[str, None] = collections.OrderedDict()
        self.known_volume_sizes: dict[str, int] = {}  # the last `volume_sizes()` answer

    async def close(self) -> None:
        await self._docker.close()

    @property
    def client(self) -> aiodocker.Docker:
        return self._docker

    @asynccontextmanager
    async def _request(self, path: str, method: str = "GET", **kwargs: Any) -> AsyncIterator[aiohttp.ClientResponse]:
        """A raw engine request whose connection is closed afterwards, read to the end or not.

        aiodocker's `_query` leaves an unfinished response open; the engine then keeps
        streaming into it and holds the container's lock, so every later call on that
        container (inspect, remove) hangs.
        """
        response = await self._docker._do_query(path, method, **kwargs)
        try:
            yield response
        finally:
            response.close()

    async def _json(self, path: str, method: str = "GET", what: str = "", **kwargs: Any) -> Any:
        try:
            return await self._docker._query_json(path, method=method, **kwargs)
        except DockerError as exc:
            raise _translate(exc, what or path) from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise EngineUnavailable(f"cannot reach the Docker Engine: {exc}") from exc

    # -- engine ------------------------------------------------------------------------------

    async def info(self) -> dict[str, Any]:
        return dict(await self._json("info", what="engine info"))

    async def version(self) -> dict[str, Any]:
        return dict(await self._json("version", what="engine version"))

    # -- volumes -----------------------------------------------------------------------------

    async def volume(self, name: str) -> dict[str, Any]:
        return dict(await self._json(f"volumes/{name}", what=f"volume {name!r}"))

    async def volumes(self) -> list[dict[str, Any]]:
        return list((await self._json("volumes", what="volumes")).get("Volumes") or [])

    async def create_volume(
        self,
        name: str,
        driver: str = "local",
        driver_opts: Mapping[str, str] | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        body = {"Name": name, "Driver": driver, "DriverOpts": dict(driver_opts or {}), "Labels": dict(labels or {})}
        return dict(await self._json("volumes/create", "POST", what=f"volume {name!r}", data=json.dumps(body)))

    async def remove_volume(self, name: str) -> None:
        await self._json(f"volumes/{name}", "DELETE", what=f"volume {name!r}")

    async def volume_sizes(self) -> dict[str, int]:
        """Volume name -> size in bytes, where the engine reports it (`docker system df -v`).

        The engine walks every file of every volume to answer, so the answer is also kept in
        `known_volume_sizes` for whoever can make do with the last one (a progress total)."""
        df = await self._json("system/df", what="disk usage")
        sizes = {}
        for volume in df.get("Volumes") or []:
            size = (volume.get("UsageData") or {}).get("Size", -1)
            if size is not None and size >= 0:
                sizes[volume["Name"]] = int(size)
        self.known_volume_sizes = sizes
        return sizes

    # -- containers --------------------------------------------------------------------------

    async def containers(self, filters: Mapping[str, list[str]] | None = None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"all": "1"}
        if filters:
            params["filters"] = json.dumps(filters)
        return list(await self._json("containers/json", params=params, what="containers"))

    async def containers_using_volume(self, volume: str) -> list[dict[str, Any]]:
        """Containers (running or not) that mount `volume`, runner containers excluded."""
        found = await self.containers({"volume": [volume]})
        return [c for c in found if RUNNER_LABEL not in (c.get("Labels") or {})]

    async def inspect_container(self, id_or_name: str) -> dict[str, Any]:
        return dict(await self._json(f"containers/{id_or_name}/json", what=f"container {id_or_name!r}"))

    async def start_container(self, id_or_name: str) -> None:
        await self._json(f"containers/{id_or_name}/start", "POST", what=f"container {id_or_name!r}")

    async def stop_container(self, id_or_name: str, timeout_seconds: int = 30) -> None:
        await self._json(
            f"containers/{id_or_name}/stop",
            "POST",
            params={"t": str(timeout_seconds)},
            what=f"container {id_or_name!r}",
            timeout=_NO_TIMEOUT,
        )

    async def remove_container(self, id_or_name: str, force: bool = False) -> None:
        params = {"force": "1" if force else "0", "v": "0"}
        await self._json(f"containers/{id_or_name}", "DELETE", params=params, what=f"container {id_or_name!r}")

    async def create_container(self, config: Mapping[str, Any], name: str | None = None) -> str:
        params = {"name": name} if name else {}
        created = await self._json(
            "containers/create", "POST", params=params, data=json.dumps(config), what=f"container {name or ''}".strip()
        )
        container_id = str(created["Id"])
        if RUNNER_LABEL in (config.get("Labels") or {}):
            self.recent_runners[container_id] = None
            while len(self.recent_runners) > _RECENT_RUNNERS:
                self.recent_runners.popitem(last=False)
        return container_id

    async def wait_container(self, id_or_name: str) -> tuple[int, str]:
        """Wait until a container exits; its exit code and the tail of its output."""
        result = await self._json(
            f"containers/{id_or_name}/wait", "POST", what=f"container {id_or_name!r}", timeout=_NO_TIMEOUT
        )
        container = self._docker.containers.container(id_or_name)
        logs = await container.log(stdout=True, stderr=True, tail=50)
        return int(result["StatusCode"]), "".join(logs)

    async def run_to_end(self, config: Mapping[str, Any]) -> tuple[int, str]:
        """Create, start and wait for a container; its exit code and output. Always removed."""
        container_id = await self.create_container({**config, "Labels": {**self.runner_labels, RUNNER_LABEL: "1"}})
        try:
            await self.start_container(container_id)
            return await self.wait_container(container_id)
        finally:
            await finish_even_if_cancelled(self.remove_container(container_id, force=True))

    async def image_exists(self, reference: str) -> bool:
        try:
            await self._json(f"images/{reference}/json", what=f"image {reference}")
        except ResourceMissing:
            return False
        return True

    async def import_image(self, rootfs: bytes, repository: str, tag: str, change: str) -> None:
        """`docker import` of a root filesystem (an uncompressed tar) as `repository:tag`, with one
        Dockerfile instruction applied (`change`, e.g. `ENV PATH=/bin`)."""
        params = {"fromSrc": "-", "repo": repository, "tag": tag, "changes": change}
        try:
            async with self._request(
                "images/create", "POST", params=params, data=rootfs, headers={"Content-Type": "application/x-tar"}
            ) as response:
                body = (await response.read()).decode(errors="replace")
        except DockerError as exc:
            raise _translate(exc, f"import of image {repository}:{tag}") from exc
        if '"error"' in body:
            raise EngineFailed(f"the Docker Engine failed to import image {repository}:{tag}: {brief(body)}")

    # -- runner containers: created, never started, to reach a volume's files -----------------

    async def ensure_runner_image(self) -> str:
        """Our minimal runner image, made locally with `docker import` when missing (no registry)."""
        reference = f"{RUNNER_REPOSITORY}:{__version__}"
        try:
            await self._json(f"images/{reference}/json", what=f"image {reference}")
            return reference
        except ResourceMissing:
            pass
        rootfs = io.BytesIO()
        with tarfile.open(fileobj=rootfs, mode="w") as tar:
            marker = b"DockBack runner: created to reach a volume through the archive API, never started.\n"
            info = tarfile.TarInfo("dockback-runner")
            info.size = len(marker)
            tar.addfile(info, io.BytesIO(marker))
        params = {"fromSrc": "-", "repo": RUNNER_REPOSITORY, "tag": __version__, "changes": 'CMD ["/dockback-runner"]'}
        try:
            async with self._request(
                "images/create",
                "POST",
                params=params,
                data=rootfs.getvalue(),
                headers={"Content-Type": "application/x-tar"},
            ) as response:
                await response.read()
        except DockerError as exc:
            raise _translate(exc, "runner image import") from exc
        log.info("created runner image %s with docker import", reference)
        return reference

    async def create_runner(
        self, source: str, *, read_only: bool, labels: Mapping[str, str], mount_type: str = "volume"
    ) -> str:
        """A container that mounts `source` (a volume, or a host path) at /volume, never started.

        NoCopy: without it the engine copies the image's files into an empty volume mounted
        over a path that exists in the image.
        """
        await self.remove_unremoved_runners()
        image = await self.ensure_runner_image()
        mount: dict[str, Any] = {"Type": mount_type, "Source": source, "Target": RUNNER_MOUNT, "ReadOnly": read_only}
        if mount_type == "volume":
            mount["VolumeOptions"] = {"NoCopy": True}
        config = {
            "Image": image,
            "Labels": {RUNNER_LABEL: "1", **self.runner_labels, **labels},
            "NetworkDisabled": True,
            "HostConfig": {"NetworkMode": "none", "Mounts": [mount]},
        }
        return await self.create_container(config)

    @asynccontextmanager
    async def runner(
        self, source: str, *, read_only: bool, labels: Mapping[str, str], mount_type: str = "volume"
    ) -> AsyncIterator[str]:
        """A runner container for the duration of the block, always removed afterwards."""
        if mount_type == "volume":
            await self.volume(source)  # a clear "does not exist" instead of the engine creating it
        container_id = await self.create_runner(source, read_only=read_only, labels=labels, mount_type=mount_type)
        try:
            yield container_id
        finally:
            try:
                await finish_even_if_cancelled(self.remove_container(container_id, force=True))
            except Exception:
                self.remove_runner_later(container_id)

    def remove_runner_later(self, container_id: str) -> None:
        """A runner whose removal failed (the engine went away): removed before the next runner is made."""
        self._unremoved_runners.add(container_id)
        log.warning(
            "could not remove runner container %s; retrying before the next job", container_id[:12], exc_info=True
        )

    async def remove_unremoved_runners(self) -> None:
        """Remove the runners whose removal failed earlier; those the engine still cannot remove stay listed."""
        for container_id in list(self._unremoved_runners):
            try:
                await self.remove_container(container_id, force=True)
            except ResourceMissing:
                pass  # already gone
            except JobError:
                continue
            self._unremoved_runners.discard(container_id)
            log.info("removed runner container %s left by an engine outage", container_id[:12])

    async def runners(self) -> list[dict[str, Any]]:
        return await self.containers({"label": [RUNNER_LABEL]})

    # -- archives ------------------------------------------------------------------------------

    @asynccontextmanager
    async def read_archive(self, container_id: str, path: str) -> AsyncIterator[AsyncIterator[bytes]]:
        """The tar stream of `path` in a container, as chunks; the response is released afterwards."""
        try:
            async with self._request(
                f"containers/{container_id}/archive",
                "GET",
                params={"path": path},
                headers=_IDENTITY,
                timeout=_NO_TIMEOUT,
            ) as response:
                yield response.content.iter_chunked(CHUNK_BYTES)
        except DockerError as exc:
            raise _translate(exc, f"archive of {path}") from exc
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as exc:
            raise EngineUnavailable(f"the Docker Engine stream broke: {exc}") from exc

    async def stat_path(self, container_id: str, path: str) -> dict[str, Any]:
        """What the engine says of `path` in a container, without following its last component:
        name, size, mode (Go's os.FileMode: SYMLINK_MODE for a symbolic link) and linkTarget."""
        try:
            async with self._request(f"containers/{container_id}/archive", "HEAD", params={"path": path}) as response:
                header = response.headers.get("X-Docker-Container-Path-Stat", "")
        except DockerError as exc:
            raise _translate(exc, f"path {path}") from exc
        stat: dict[str, Any] = json.loads(base64.b64decode(header)) if header else {}
        return stat

    async def write_archive(self, container_id: str, path: str, chunks: AsyncIterator[bytes]) -> None:
        """Extract a tar stream into `path` of a container, keeping the archive's owners (copyUIDGID)."""
        params = {"path": path, "copyUIDGID": "1", "noOverwriteDirNonDir": "1"}
        try:
            async with self._request(
                f"containers/{container_id}/archive",
                "PUT",
                params=params,
                data=chunks,
                headers={"Content-Type": "application/x-tar"},
                timeout=_NO_TIMEOUT,
            ) as response:
                await response.read()
        except DockerError as exc:
            raise _translate(exc, f"restore into {path}") from exc
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as exc:
            raise EngineUnavailable(f"the Docker Engine stream broke: {exc}") from exc

    # -- images --------------------------------------------------------------------------------

    async def inspect_image(self, reference: str) -> dict[str, Any]:
        return dict(await self._json(f"images/{reference}/json", what=f"image {reference!r}"))

    async def images(self) -> list[dict[str, Any]]:
        return list(await self._json("images/json", what="images"))

    @asynccontextmanager
    async def save_image(self, reference: str) -> AsyncIterator[AsyncIterator[bytes]]:
        """`docker save` of one image, as chunks."""
        try:
            async with self._request(
                "images/get", "GET", params={"names": reference}, headers=_IDENTITY, timeout=_NO_TIMEOUT
            ) as response:
                yield response.content.iter_chunked(CHUNK_BYTES)
        except DockerError as exc:
            raise _translate(exc, f"image {reference!r}") from exc

    async def load_image(self, chunks: AsyncIterator[bytes]) -> list[str]:
        """`docker load`; returns what the engine said it loaded: tags ("repo:tag") and, for images
        saved without one, ids ("sha256:...")."""
        try:
            async with self._request(
                "images/load",
                "POST",
                params={"quiet": "1"},
                data=chunks,
                headers={"Content-Type": "application/x-tar"},
                timeout=_NO_TIMEOUT,
            ) as response:
                body = (await response.read()).decode(errors="replace")
        except DockerError as exc:
            raise _translate(exc, "image load") from exc
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as exc:
            raise EngineUnavailable(f"the Docker Engine stream broke: {exc}") from exc
        loaded: list[str] = []
        for line in body.splitlines():
            if not line.strip():
                continue
            try:
                message = json.loads(line)
            except ValueError:
                raise EngineUnavailable(f"docker load answered what is not JSON: {line[:200]!r}") from None
            if message.get("error"):
                error = brief(str(message["error"]))
                if engine_failure_is_permanent(error):
                    raise EngineFailed(f"docker load failed: {error}")
                raise EngineUnavailable(f"docker load failed: {error}")
            for said in str(message.get("stream") or "").splitlines():
                for prefix in ("Loaded image ID: ", "Loaded image: "):
                    if said.startswith(prefix):
                        loaded.append(said.removeprefix(prefix).strip())
                        break
        return loaded

    async def tag_image(self, image: str, repository: str, tag: str) -> None:
        """`docker tag image repository:tag` (an existing tag of that name moves to `image`)."""
        await self._json(
            f"images/{image}/tag",
            "POST",
            params={"repo": repository, "tag": tag},
            what=f"tag {repository}:{tag} of image {image!r}",
        )

    # -- exec ----------------------------------------------------------------------------------

    async def exec_run(self, container: str, argv: list[str], timeout_seconds: float) -> tuple[int, str]:
        """Run a command inside a running container; its exit code and (tail of) output.

        On timeout the exec's process is left to the container (the engine cannot kill an
        exec); the caller decides whether that fails the job.
        """
        try:
            target = await self._docker.containers.get(container)
            execution = await target.exec(argv, stdout=True, stderr=True)
            output = bytearray()
            async with asyncio.timeout(timeout_seconds):
                async with execution.start(detach=False) as stream:
                    while (message := await stream.read_out()) is not None:
                        output.extend(message.data)
                        del output[:-65536]
                # The output stream closes a moment before the engine records the exit code.
                while (inspected := await execution.inspect())["Running"]:  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
        except DockerError as exc:
            raise _translate(exc, f"container {container!r}") from exc
        return int(inspected["ExitCode"]), output.decode(errors="replace")

    # -- events --------------------------------------------------------------------------------

    async def events(self, types: tuple[str, ...] = ("container", "volume", "image")) -> AsyncIterator[dict[str, Any]]:
        """The engine's event stream (until the connection ends)."""
        params = {"filters": json.dumps({"type": list(types)})}
        async with self._request("events", "GET", params=params, timeout=_NO_TIMEOUT) as response:
            async for line in response.content:
                if line.strip():
                    yield json.loads(line)
