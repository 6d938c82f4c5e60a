"""Where a restored volume writes, on the real gateway: a new volume is plain local unless the person
chooses the original's driver and options in the preview, which then says in words which host
directory or share is written; the choice is bound to the confirmation token."""

from __future__ import annotations

import uuid

from dockback_contracts import events as ev
from dockback_contracts.storage import VolumeStorage
from dockback_gateway.users.models import Role
from gateway.audited_callers import logged_in_as
from gateway.catalog_facts import archive_created, catalogued
from gateway.conftest import Gateway
from gateway.job_requests import exactly_one, requests_on
from gateway.restore_steps import HOST, RESTORE_SUBJECT, T0, confirm, known_host, new_volume, preview

BIND = VolumeStorage(driver="local", options={"type": "none", "o": "bind", "device": "/srv/app"})
NFS = VolumeStorage(driver="local", options={"type": "nfs", "o": "addr=nas.lan,rw", "device": ":/export/app"})


async def backed_up(gateway: Gateway, storage: VolumeStorage | None, name: str = "appdata") -> uuid.UUID:
    await known_host(gateway)
    return await catalogued(gateway, archive_created(HOST, None, name, T0).model_copy(update={"storage": storage}))


async def test_a_new_volume_is_plain_local_and_the_preview_says_the_original_directory_is_not_touched(
    gateway: Gateway,
) -> None:
    artifact_id = await backed_up(gateway, BIND)
    async with logged_in_as(gateway, "olga", Role.OPERATOR) as client:
        previewed = await preview(client, artifact_id, new_volume("appdata-copy"))
        assert previewed.status_code == 200, previewed.text
        body = previewed.json()
        assert body["original_storage"] == "the host directory /srv/app"
        assert body["storage"].startswith("The new volume 'appdata-copy' is a new, empty directory in Docker's own")
        assert "the host directory /srv/app, which this restore does not touch" in body["storage"]
        assert body["storage"] in body["summary"]
        assert (await confirm(client, body["token"], "appdata-copy")).status_code == 202

    restore = ev.RestoreRequested.model_validate((await exactly_one(gateway, RESTORE_SUBJECT)).body, strict=False)
    assert restore.target.storage is None


async def test_choosing_the_original_storage_says_which_host_directory_is_written_and_sends_it(
    gateway: Gateway,
) -> None:
    artifact_id = await backed_up(gateway, BIND)
    async with logged_in_as(gateway, "olga", Role.OPERATOR) as client:
        previewed = await preview(client, artifact_id, new_volume("appdata-copy", same_storage_as_original=True))
        assert previewed.status_code == 200, previewed.text
        body = previewed.json()
        assert body["storage"] == (
            "The new volume 'appdata-copy' gets the original's driver and options, so it writes into "
            "the host directory /srv/app."
        )
        assert any("the host directory /srv/app" in w and "overwritten" in w for w in body["warnings"])
        assert (await confirm(client, body["token"], "appdata-copy")).status_code == 202

    restore = ev.RestoreRequested.model_validate((await exactly_one(gateway, RESTORE_SUBJECT)).body, strict=False)
    assert restore.target.storage == BIND


async def test_an_nfs_share_is_named_as_the_share(gateway: Gateway) -> None:
    artifact_id = await backed_up(gateway, NFS)
    async with logged_in_as(gateway, "olga", Role.OPERATOR) as client:
        previewed = await preview(client, artifact_id, new_volume("appdata-copy", same_storage_as_original=True))
    assert previewed.status_code == 200, previewed.text
    assert previewed.json()["storage"].endswith("it writes into the NFS share nas.lan:/export/app.")


async def test_a_replaced_volume_keeps_its_storage_and_the_choice_is_refused_for_it(gateway: Gateway) -> None:
    artifact_id = await backed_up(gateway, BIND, name="spare")  # "spare" exists on the host
    async with logged_in_as(gateway, "olga", Role.OPERATOR) as client:
        replacing = await preview(client, artifact_id, new_volume("spare", replace_existing=True))
        assert replacing.status_code == 200, replacing.text
        assert (
            replacing.json()["storage"] == "Volume 'spare' keeps its own driver and options; its content is replaced."
        )

        refused = await preview(
            client, artifact_id, new_volume("spare", replace_existing=True, same_storage_as_original=True)
        )
    assert refused.status_code == 422, refused.text
    assert "target.same_storage_as_original" in refused.json()["detail"]
    assert "keeps its own driver and options" in refused.json()["detail"]


async def test_the_choice_is_refused_for_containers_and_for_an_archive_whose_storage_is_unknown(
    gateway: Gateway,
) -> None:
    await known_host(gateway)
    config_id = await catalogued(gateway, archive_created(HOST, None, "web", T0, kind="container", role="config"))
    unknown_id = await backed_up(gateway, None, name="olddata")
    async with logged_in_as(gateway, "olga", Role.OPERATOR) as client:
        container = await preview(
            client, config_id, {"kind": "container", "name": "web-copy", "same_storage_as_original": True}
        )
        unknown = await preview(client, unknown_id, new_volume("olddata-copy", same_storage_as_original=True))
    assert container.status_code == 422, container.text
    assert "only a volume restore" in container.json()["detail"]
    assert unknown.status_code == 422, unknown.text
    assert "does not know the original volume's driver and options" in unknown.json()["detail"]


async def test_a_token_for_a_plain_new_volume_cannot_be_confirmed_with_the_original_storage(gateway: Gateway) -> None:
    artifact_id = await backed_up(gateway, BIND)
    async with logged_in_as(gateway, "olga", Role.OPERATOR) as client:
        body = (await preview(client, artifact_id, new_volume("appdata-copy"))).json()
        smuggled = await client.post(
            "/restores",
            json={"token": body["token"], "confirm_name": "appdata-copy", "same_storage_as_original": True},
        )
        assert smuggled.status_code == 422, smuggled.text
        assert await requests_on(gateway, RESTORE_SUBJECT) == []

        assert (await confirm(client, body["token"], "appdata-copy")).status_code == 202
    restore = ev.RestoreRequested.model_validate((await exactly_one(gateway, RESTORE_SUBJECT)).body, strict=False)
    assert restore.target.storage is None  # what was previewed, and nothing else


async def test_an_artifact_says_where_its_volume_kept_its_data(gateway: Gateway) -> None:
    artifact_id = await backed_up(gateway, NFS)
    async with logged_in_as(gateway, "vera", Role.VIEWER) as client:
        detail = await client.get(f"/artifacts/{artifact_id}")
    assert detail.status_code == 200, detail.text
    assert detail.json()["storage"] == "the NFS share nas.lan:/export/app"


async def test_a_container_restored_beside_the_original_gets_plain_local_volumes_and_says_so(gateway: Gateway) -> None:
    await known_host(gateway)
    job_id = uuid.uuid4()
    config_id = await catalogued(
        gateway, archive_created(HOST, None, "web", T0, kind="container", role="config", job_id=job_id)
    )
    volume = archive_created(HOST, None, "web", T0, kind="container", role="webdata", job_id=job_id)
    await catalogued(gateway, volume.model_copy(update={"storage": BIND}))
    async with logged_in_as(gateway, "olga", Role.OPERATOR) as client:
        previewed = await preview(client, config_id, {"kind": "container", "name": "web-copy"})
    assert previewed.status_code == 200, previewed.text
    body = previewed.json()
    assert [v["name"] for v in body["volumes"]] == ["web-copy-webdata"]
    assert body["storage"].startswith("Volumes the restore creates are plain local volumes")
