"""Off-site copies and alerts, end to end: a plan's backup is copied to S3 (moto over real
HTTP) with the archive's sha256, and when the bucket is gone the next backup fails in its
upload phase and the admin gets exactly one mail (aiosmtpd) naming host, plan and reason."""

from __future__ import annotations

from typing import Any

import httpx
from executor.volumes import create_volume, populate
from gateway.conftest import Gateway, logged_in_admin

from e2e.conftest import HOST_ID, Services
from e2e.host_status import host_online
from harness.eventually import eventually
from harness.s3_server import S3Bucket
from harness.smtp_server import StartSmtp


async def _finished(client: httpx.AsyncClient, job_id: str) -> dict[str, Any] | None:
    job = (await client.get(f"/jobs/{job_id}")).json()
    return job if job["finished"] else None


async def test_a_backup_is_copied_off_site_and_a_broken_bucket_alerts_by_mail(
    gateway: Gateway,
    services: Services,
    s3: S3Bucket,
    smtp_server_factory: StartSmtp,
    busybox_image: str,
    docker_labels: dict[str, str],
    unique_name: str,
) -> None:
    mail = smtp_server_factory()
    volume = unique_name
    await create_volume(volume, docker_labels)
    await populate(busybox_image, volume, docker_labels, small_files=50)
    services.all()
    services.start("notifier", "dockback_notifier", DOCKBACK_DIGEST_WINDOW_SECONDS="1")
    try:
        async with logged_in_admin(gateway) as client:
            target = await client.post(
                "/settings/targets",
                json={
                    "target_id": "offsite",
                    "endpoint": s3.endpoint,
                    "secure": False,
                    "region": "us-east-1",
                    "bucket": s3.name,
                    "prefix": "dockback",
                    "access_key": s3.access_key,
                    "secret_key": s3.secret_key,
                },
            )
            assert target.status_code == 201, target.text
            smtp = await client.put(
                "/settings/smtp",
                json={
                    "host": mail.host,
                    "port": mail.port,
                    "security": "none",
                    "from_address": "dockback@example.test",
                    "recipients": ["ops@example.test"],
                },
            )
            assert smtp.status_code == 200, smtp.text
            await eventually(lambda: host_online(client), timeout=60)
            created = await client.post(
                "/plans",
                json={
                    "name": f"offsite {volume}",
                    "host_id": HOST_ID,
                    "targets": [{"kind": "volume", "names": [volume]}],
                    "cron": "0 3 * * *",
                    "timezone": "UTC",
                    "upload_targets": ["offsite"],
                },
            )
            assert created.status_code == 201, created.text
            plan = created.json()

            run = await client.post("/jobs", json={"plan_id": plan["id"]})
            job = await eventually(lambda: _finished(client, run.json()["id"]), timeout=90, interval=0.5)
            assert job["status"] == "succeeded", job
            (artifact,) = job["artifacts"]
            (copy,) = artifact["copies"]
            assert copy["target_id"] == "offsite"
            assert copy["key"] in s3.keys("dockback/")
            assert s3.head(copy["key"])["Metadata"]["sha256"] == artifact["sha256"]
            assert mail.messages == [], "a backup that worked alerts nobody"

            # Break the bucket: the next backup's upload fails at once, and one mail says so.
            for key in s3.keys():  # noqa: SIM118 - S3Bucket.keys lists the objects; not a dict
                s3.client.delete_object(Bucket=s3.name, Key=key)
            s3.client.delete_bucket(Bucket=s3.name)
            run = await client.post("/jobs", json={"plan_id": plan["id"]})
            job = await eventually(lambda: _finished(client, run.json()["id"]), timeout=90, interval=0.5)
            assert job["status"] == "failed", job
            assert job["phase"] == "upload", job
            (alert,) = await mail.wait_for(1, within=60)
            assert HOST_ID in alert.text
            assert plan["name"] in alert.text
            assert s3.name in alert.text or "bucket" in alert.text.lower()
            assert run.json()["id"] in alert.text, "the mail links to the job"
    except BaseException:
        print(services.logs())
        raise
