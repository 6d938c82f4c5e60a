"""The one place that speaks S3 (miniopy-async): upload, verify, download, delete, check.

Every failure leaves as a `TransientError` (connection refused, timeout, 5xx, throttling:
JetStream redelivers the job later) or a `PermanentError` whose message says what to fix
(credentials refused, bucket missing). Messages name the target and bucket, never a secret.

Uploads are streamed: the file is read one part at a time (`part_size_bytes` of the
target), one part in flight, so memory stays near one part whatever the archive's size.
The sha256 goes along as object metadata (`x-amz-meta-sha256`). Each request's payload
carries a checksum the server checks (miniopy: over HTTP its sha256 is signed as
`x-amz-content-sha256`, over HTTPS a `Content-MD5`), so a part damaged on the way is refused
rather than stored; the whole object's sha256 is then checked after the upload (stat, or a
full read-back), since a multipart upload has no whole-object checksum miniopy can send.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import os
import socket
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO, cast

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from miniopy_async.api import Minio
from miniopy_async.error import InvalidResponseError, MinioException, S3Error, ServerError

from dockback_contracts.snapshots import S3Target
from dockback_runtime.jobs.errors import PermanentError, TransientError
from dockback_runtime.outbound import OutboundPolicy, TargetRefused
from dockback_uploader.targets import Credentials

log = logging.getLogger(__name__)

SHA256_METADATA = "x-amz-meta-sha256"
_CREDENTIAL_ERRORS = {
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "AccessDenied",
    "InvalidClientTokenId",
    "ExpiredToken",
}
_PLACEMENT_ERRORS = {"AuthorizationHeaderMalformed", "PermanentRedirect", "IllegalLocationConstraintException"}
_MISSING_OBJECT = {"NoSuchKey", "NoSuchObject"}
_TRANSIENT_CODES = {"SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout", "RequestTimeTooSkewed"}
_READ_CHUNK = 1024 * 1024


class ChecksumMismatch(PermanentError):
    """The bytes sent or received do not hash to the archive's sha256."""


@dataclass(frozen=True)
class RemoteObject:
    size: int
    sha256: str | None


class _HashingReader:
    """A file read part by part off the event loop, hashing what was read."""

    def __init__(self, file: BinaryIO) -> None:
        self.file = file
        self.digest = hashlib.sha256()
        self.size = 0

    async def read(self, size: int = -1) -> bytes:
        data = await asyncio.to_thread(self.file.read, size)
        self.digest.update(data)
        self.size += len(data)
        return data


def _host_and_port(target: S3Target) -> tuple[str, int]:
    """The host and port of a target's `host[:port]` endpoint (an IPv6 address in brackets)."""
    host, colon, port = target.endpoint.rpartition(":")
    if not colon or not port.isdigit():  # no port (also "[::1]", whose last ':' is inside the brackets)
        host, port = target.endpoint, ""
    return host, int(port) if port else (443 if target.secure else 80)


class _CheckedResolver(AbstractResolver):
    """Resolves an endpoint through the outbound policy: aiohttp connects to the checked
    addresses only, and still sends the endpoint's name as Host and TLS server name."""

    def __init__(self, policy: OutboundPolicy, what: str) -> None:
        self.policy = policy
        self.what = what

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        addresses = await self.policy.addresses(host, port, what=self.what)
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in addresses
        ]

    async def close(self) -> None:
        pass


class S3Bucket:
    """One target's bucket, with an open HTTP session (use `S3Bucket.open`)."""

    def __init__(self, target: S3Target, client: Minio) -> None:
        self.target = target
        self.client = client

    @classmethod
    @asynccontextmanager
    async def open(cls, target: S3Target, credentials: Credentials, policy: OutboundPolicy) -> AsyncIterator[S3Bucket]:
        # Our own session: no retries inside (JetStream redelivery is the retry, with its
        # budget) and timeouts in seconds, not miniopy's five minutes.
        # One connection per request: a part never goes out on a kept-alive connection that a
        # proxy or a restarted server has dropped meanwhile.
        # The policy resolves the endpoint and checks each address at every connection.
        what = f"S3 target {target.target_id!r}"
        resolver = None if policy.allow_private else _CheckedResolver(policy, what)
        if resolver is not None:  # aiohttp asks no resolver for an IP address: check it here
            try:
                await policy.addresses(*_host_and_port(target), what=what)
            except TargetRefused as exc:
                raise PermanentError(str(exc)) from None
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(force_close=True, resolver=resolver),
            timeout=aiohttp.ClientTimeout(total=None, connect=10, sock_connect=10, sock_read=60),
        )
        try:
            try:
                client = Minio(
                    target.endpoint,
                    access_key=credentials.access_key,
                    secret_key=credentials.secret_key,
                    secure=target.secure,
                    region=target.region,
                    session=session,
                )
            except ValueError as exc:  # miniopy's messages name the endpoint or region, never a key
                raise PermanentError(
                    f"S3 target {target.target_id!r}: its endpoint {target.endpoint!r} cannot be used ({exc}): "
                    "write it as host[:port], without a scheme or path (HTTPS is the target's 'secure' switch)"
                ) from None
            yield cls(target, client)
        finally:
            await session.close()

    @property
    def name(self) -> str:
        return self.target.bucket

    async def upload_file(self, key: str, path: Path, sha256: str, size: int) -> None:
        """Stream `path` to `key`, part by part; raises ChecksumMismatch (after deleting the object)
        when the bytes read were not the archive the manifest describes."""
        file = await asyncio.to_thread(path.open, "rb")
        try:
            reader = _HashingReader(file)
            await self._call(
                "upload",
                key,
                self.client.put_object(
                    self.name,
                    key,
                    cast(BinaryIO, reader),  # read() may be a coroutine: miniopy awaits it
                    size,
                    metadata={SHA256_METADATA: sha256},
                    part_size=self.target.part_size_bytes,
                    num_parallel_uploads=1,  # more would read every part into memory up front
                ),
            )
        finally:
            file.close()
        if reader.size != size or reader.digest.hexdigest() != sha256:
            # The object carries the manifest's sha256 but other bytes: delete it, and fail for
            # good even if the delete fails (a retry would find it and trust its metadata).
            try:
                await self.delete(key)
                removed = "the remote copy was deleted"
            except Exception as exc:
                removed = f"deleting the remote copy failed ({type(exc).__name__}); it is not marked uploaded"
            raise ChecksumMismatch(
                f"{path.name} changed or is damaged on disk: it hashes to {reader.digest.hexdigest()} "
                f"({reader.size} bytes), its manifest says {sha256} ({size} bytes); {removed}"
            )

    async def upload_bytes(self, key: str, data: bytes, content_type: str = "application/json") -> None:
        digest = hashlib.sha256(data).hexdigest()
        await self._call(
            "upload",
            key,
            self.client.put_object(
                self.name,
                key,
                io.BytesIO(data),
                len(data),
                content_type=content_type,
                metadata={SHA256_METADATA: digest},
            ),
        )

    async def stat(self, key: str) -> RemoteObject | None:
        """Size and sha256 metadata of an object; None when there is none."""
        try:
            found = await self.client.stat_object(self.name, key)
        except S3Error as exc:
            if exc.code in {"NoSuchKey", "NoSuchObject", "NotFound"}:
                return None
            raise self._failure("stat", key, exc) from exc
        except Exception as exc:
            raise self._failure("stat", key, exc) from exc
        metadata = cast("Mapping[str, str]", found.metadata or {})  # the response's headers
        return RemoteObject(size=found.size or 0, sha256=metadata.get(SHA256_METADATA))

    async def hash_of(self, key: str) -> tuple[str, int]:
        """Read the object back and hash it (nothing is kept)."""
        digest = hashlib.sha256()
        size = 0
        async for chunk in self._stream(key):
            digest.update(chunk)
            size += len(chunk)
        return digest.hexdigest(), size

    async def download(self, key: str, file: BinaryIO) -> tuple[str, int]:
        """Write the object into `file`, returning its sha256 and size."""
        digest = hashlib.sha256()
        size = 0
        async for chunk in self._stream(key):
            digest.update(chunk)
            size += len(chunk)
            await asyncio.to_thread(file.write, chunk)
        return digest.hexdigest(), size

    async def read_small(self, key: str, limit: int = 16 * 1024 * 1024) -> bytes:
        data = bytearray()
        async for chunk in self._stream(key):
            data += chunk
            if len(data) > limit:
                raise PermanentError(f"object {key} in bucket {self.name!r} is larger than {limit} bytes")
        return bytes(data)

    async def _stream(self, key: str) -> AsyncIterator[bytes]:
        try:
            response = await self.client.get_object(self.name, key)
        except Exception as exc:
            raise self._failure("download", key, exc) from exc
        try:
            async for chunk in response.content.iter_chunked(_READ_CHUNK):
                yield chunk
        except Exception as exc:
            raise self._failure("download", key, exc) from exc
        finally:
            response.release()

    async def delete(self, key: str) -> None:
        """Delete an object; one that is already gone is fine (S3 says so too)."""
        await self._call("delete", key, self.client.remove_object(self.name, key))

    async def abort_incomplete_uploads(self, key: str) -> int:
        """Abort every unfinished multipart upload of `key` (left by an interrupted attempt)."""
        aborted = 0
        try:
            listing = await self.client._list_multipart_uploads(self.name, prefix=key)
            for upload in listing.uploads:
                if upload.object_name == key and upload.upload_id:
                    await self.client._abort_multipart_upload(self.name, key, upload.upload_id)
                    aborted += 1
        except Exception as exc:
            raise self._failure("abort the unfinished uploads of", key, exc) from exc
        if aborted:
            log.info("aborted %d unfinished multipart upload(s) of %s in %s", aborted, key, self.name)
        return aborted

    async def abort_stale_uploads(self, prefix: str, older_than: timedelta) -> int:
        """Abort the unfinished multipart uploads under `prefix` started more than `older_than` ago."""
        cutoff = datetime.now(UTC) - older_than
        aborted = 0
        try:
            listing = await self.client._list_multipart_uploads(self.name, prefix=prefix)
            for upload in listing.uploads:
                started = upload.initiated_time
                if upload.upload_id and upload.object_name.startswith(prefix) and started and started <= cutoff:
                    await self.client._abort_multipart_upload(self.name, upload.object_name, upload.upload_id)
                    aborted += 1
        except Exception as exc:
            raise self._failure("abort the stale unfinished uploads under", prefix, exc) from exc
        if aborted:
            log.info("aborted %d stale unfinished multipart upload(s) under %s in %s", aborted, prefix, self.name)
        return aborted

    async def check(self) -> None:
        """Raise unless the credentials are accepted and the bucket exists."""
        try:
            exists = await self.client.bucket_exists(self.name)
        except Exception as exc:
            raise self._failure("check", None, exc) from exc
        if not exists:
            raise self._no_bucket()

    async def _call(self, action: str, key: str, request: Any) -> Any:
        try:
            return await request
        except Exception as exc:
            raise self._failure(action, key, exc) from exc

    def _no_bucket(self) -> PermanentError:
        return PermanentError(
            f"S3 target {self.target.target_id!r}: bucket {self.name!r} does not exist at {self.target.endpoint}: "
            "create it, or correct the bucket name in Settings"
        )

    def _failure(self, action: str, key: str | None, exc: BaseException) -> Exception:
        """What an S3 error means for the job: try again later, or tell a person what to fix."""
        where = f"S3 target {self.target.target_id!r} ({self.target.endpoint}, bucket {self.name!r})"
        what = f"{action} {key}" if key else action
        if isinstance(exc, PermanentError | TransientError):
            return exc
        if isinstance(exc, TargetRefused):
            return PermanentError(str(exc))  # the same words whatever the address was: no probe
        if isinstance(exc, S3Error):
            if exc.code in _CREDENTIAL_ERRORS:
                return PermanentError(
                    f"S3 target {self.target.target_id!r} refused the credentials ({exc.code}) at "
                    f"{self.target.endpoint}: check its access key and secret key in Settings, and that they may "
                    f"read and write bucket {self.name!r}"
                )
            if exc.code == "NoSuchBucket":
                return self._no_bucket()
            if exc.code in _PLACEMENT_ERRORS:
                return PermanentError(
                    f"{where} refused {what} ({exc.code}): the bucket is in another region or at another "
                    "endpoint: correct the target's region or endpoint in Settings"
                )
            if exc.code in _MISSING_OBJECT:  # waiting will not bring it back
                return PermanentError(f"{where} has no object {key or ''} ({exc.code}) for {action}")
            if exc.code in _TRANSIENT_CODES:
                return TransientError(f"{where} is busy or failing ({exc.code}) during {what}")
            return TransientError(f"{where} answered {exc.code} during {what}: {exc.message}")
        if isinstance(exc, ServerError):
            return TransientError(f"{where} failed with HTTP {exc.status_code} during {what}")
        if isinstance(exc, InvalidResponseError):
            return TransientError(f"{where} gave an unexpected answer during {what}")
        if isinstance(exc, aiohttp.ClientError | TimeoutError | OSError | MinioException):
            return TransientError(f"{where} cannot be reached during {what}: {type(exc).__name__}: {exc}")
        if isinstance(exc, ValueError):  # miniopy refused an argument (a bucket name S3 does not allow)
            return PermanentError(f"{where} cannot be used for {what}: {exc}: correct it in Settings")
        return exc if isinstance(exc, Exception) else RuntimeError(str(exc))


def fsync_file(file: BinaryIO) -> None:
    file.flush()
    os.fsync(file.fileno())
