"""`CheckTarget` over core NATS: is the target reachable with its credentials, does its bucket exist?"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from nats.aio.client import Client
from nats.aio.msg import Msg

from dockback_contracts import subjects
from dockback_contracts.control import CheckResult, CheckTarget
from dockback_contracts.snapshots import S3Target
from dockback_runtime.outbound import OutboundPolicy
from dockback_uploader.app import Uploader
from dockback_uploader.check import TargetCheck
from dockback_uploader.targets import TargetSettings
from harness.s3_server import S3Bucket
from uploader.conftest import HOST_ID, host_private_key, put_settings, s3_target


async def check(nc: Client, target_id: str, settings_revision: int | None = None) -> CheckResult:
    request = CheckTarget(target_id=target_id, settings_revision=settings_revision)
    reply = await nc.request(subjects.CHECK_TARGET, request.model_dump_json().encode(), 10)
    return CheckResult.model_validate_json(reply.data)


@asynccontextmanager
async def check_sent(nc: Client, target_id: str, settings_revision: int) -> AsyncIterator[asyncio.Task[CheckResult]]:
    """A check in flight: entered once the nats-server has routed it (to the uploader, and
    to a listener of our own on the subject); the task gives the answer."""
    routed = asyncio.Event()

    async def seen(_msg: Msg) -> None:
        routed.set()

    listener = await nc.subscribe(subjects.CHECK_TARGET, cb=seen)
    try:
        asked = asyncio.create_task(check(nc, target_id, settings_revision))
        async with asyncio.timeout(10):
            await routed.wait()
        yield asked
    finally:
        await listener.unsubscribe()


async def test_a_reachable_target_with_its_bucket_checks_ok(
    nc: Client, s3: S3Bucket, target: S3Target, uploader: Uploader
) -> None:
    result = await check(nc, "offsite")

    assert result.ok is True
    assert s3.name in result.detail
    assert result.answered_by == f"uploader on host {HOST_ID}"


async def test_refused_credentials_are_reported_without_the_secret(
    nc: Client, s3: S3Bucket, settings_key: bytes, uploader: Uploader
) -> None:
    await put_settings(nc, s3_target(s3, settings_key, secret_key="wrong-secret-value"))

    result = await check(nc, "offsite")

    assert result.ok is False
    assert "refused the credentials" in result.detail
    assert "wrong-secret-value" not in result.detail
    assert s3.secret_key not in result.detail


async def test_an_unknown_target_is_reported(nc: Client, target: S3Target, uploader: Uploader) -> None:
    result = await check(nc, "nowhere")

    assert result.ok is False
    assert "'nowhere' is not in the settings" in result.detail


async def test_an_endpoint_written_as_a_url_is_reported(
    nc: Client, s3: S3Bucket, settings_key: bytes, uploader: Uploader
) -> None:
    await put_settings(nc, s3_target(s3, settings_key).model_copy(update={"endpoint": f"http://{s3.endpoint}"}))

    result = await check(nc, "offsite")

    assert result.ok is False
    assert "endpoint" in result.detail
    assert s3.secret_key not in result.detail


async def test_a_bucket_name_s3_does_not_allow_is_reported(
    nc: Client, s3: S3Bucket, settings_key: bytes, uploader: Uploader
) -> None:
    await put_settings(nc, s3_target(s3, settings_key, bucket="bucket..name"))

    result = await check(nc, "offsite")

    assert result.ok is False
    assert "bucket..name" in result.detail


async def test_a_check_tests_the_revision_it_names_even_when_it_arrives_before_the_settings(
    nc: Client, s3: S3Bucket, settings_key: bytes, uploader: Uploader
) -> None:
    """The gateway publishes settings after saving them: "Test" pressed right after "Save"
    reaches the uploader first, and must test what was saved, not the snapshot before it."""
    await put_settings(nc, s3_target(s3, settings_key, secret_key="wrong-secret-value"), revision=1)

    async with check_sent(nc, "offsite", settings_revision=2) as asked:
        await put_settings(nc, s3_target(s3, settings_key), revision=2)  # the corrected key, saved
        result = await asked

    assert result.ok is True, result.detail


async def test_a_check_of_a_target_created_just_now_waits_for_it(
    nc: Client, s3: S3Bucket, settings_key: bytes, uploader: Uploader
) -> None:
    await put_settings(nc, revision=1)

    async with check_sent(nc, "offsite", settings_revision=2) as asked:
        await put_settings(nc, s3_target(s3, settings_key), revision=2)
        result = await asked

    assert result.ok is True, result.detail


async def test_a_revision_that_never_arrives_is_answered_within_the_bound_and_says_so(
    nc: Client, target: S3Target, settings_key: bytes
) -> None:
    targets = TargetSettings(nc.jetstream, HOST_ID, host_private_key(settings_key), OutboundPolicy(allow_private=True))
    checks = TargetCheck(targets, HOST_ID, snapshot_wait=0.5)

    async with asyncio.timeout(5):
        result = await checks.run(CheckTarget(target_id="offsite", settings_revision=7))

    assert result.ok is False
    assert "revision 7 did not reach this uploader within 0.5 s (it has revision 1)" in result.detail


async def test_a_check_naming_a_revision_already_here_answers_at_once(
    nc: Client, s3: S3Bucket, settings_key: bytes
) -> None:
    await put_settings(nc, s3_target(s3, settings_key), revision=3)
    checks = TargetCheck(
        TargetSettings(nc.jetstream, HOST_ID, host_private_key(settings_key), OutboundPolicy(allow_private=True)),
        HOST_ID,
        snapshot_wait=30,
    )

    async with asyncio.timeout(10):  # well under the bound: a newer revision than named is good enough
        result = await checks.run(CheckTarget(target_id="offsite", settings_revision=2))

    assert result.ok is True, result.detail
