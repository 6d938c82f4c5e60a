"""`CheckTarget` over core NATS: is the target reachable with its credentials, does its bucket exist?"""

from __future__ import annotations

from nats.aio.client import Client

from dockback_contracts import subjects
from dockback_contracts.control import CheckResult, CheckTarget
from dockback_contracts.snapshots import S3Target
from dockback_uploader.app import Uploader
from harness.s3_server import S3Bucket
from uploader.conftest import HOST_ID, put_settings, s3_target


async def check(nc: Client, target_id: str) -> CheckResult:
    reply = await nc.request(subjects.CHECK_TARGET, CheckTarget(target_id=target_id).model_dump_json().encode(), 10)
    return CheckResult.model_validate_json(reply.data)


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
