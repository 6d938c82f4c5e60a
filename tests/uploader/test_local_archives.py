"""Proving an archive belongs to a prune's scope, without NATS."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockback_contracts import events as ev
from dockback_uploader.errors import OutOfScope
from dockback_uploader.local_archives import LocalArchives, manifest_path_of
from uploader.conftest import DataDir, prune_of


def test_the_manifest_sits_beside_the_archive_under_the_executors_name() -> None:
    stem = "20261125T101500Z-job-pgdata"
    for suffix in (".tar.zst", ".tar.gz", ".tar", ".json"):
        assert manifest_path_of(Path(f"v/{stem}{suffix}")) == Path(f"v/{stem}.manifest.json")


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("/etc/passwd.tar", "not a path inside"),
        ("volumes/../../x.tar.zst", "not a path inside"),
        ("volumes/pgdata/x.manifest.json", "is a manifest"),
        ("volumes/pgdata/x.sql", "not an archive DockBack wrote"),
    ],
)
def test_paths_that_are_not_archives_in_the_data_dir_are_refused(path: str, why: str, data_dir: DataDir) -> None:
    ref = data_dir.archive().model_copy(update={"path": path})

    with pytest.raises(OutOfScope, match=why):
        LocalArchives(data_dir.root).locate(ref, prune_of(ref))


def test_an_unreadable_manifest_proves_nothing(data_dir: DataDir) -> None:
    ref = data_dir.archive()
    data_dir.files_of(ref)[1].write_text("{not json")

    with pytest.raises(OutOfScope, match="cannot be read"):
        LocalArchives(data_dir.root).locate(ref, prune_of(ref))


def test_a_manifest_with_another_checksum_is_another_archive(data_dir: DataDir) -> None:
    ref = data_dir.archive()
    other = ref.model_copy(update={"sha256": "0" * 64})

    with pytest.raises(OutOfScope, match="sha256"):
        LocalArchives(data_dir.root).locate(other, prune_of(other))


def test_an_archive_of_the_scope_is_located_and_deleted_archive_first(data_dir: DataDir) -> None:
    ref = data_dir.archive()
    archives = LocalArchives(data_dir.root)

    located = archives.locate(ref, prune_of(ref))
    archives.delete(located)

    assert located.present
    assert data_dir.files_of(ref) == []
    assert archives.locate(ref, prune_of(ref)).present is False  # gone: already pruned


def test_a_manifest_of_a_plan_less_backup_is_out_of_every_plans_scope(data_dir: DataDir) -> None:
    manual = data_dir.archive(plan_id=None)

    with pytest.raises(OutOfScope, match="plan None"):
        LocalArchives(data_dir.root).locate(manual, prune_of(manual))


def test_the_resource_must_match_by_kind_too(data_dir: DataDir) -> None:
    volume = data_dir.archive(resource=ev.ResourceRef(kind="volume", name="db"), role="db")

    with pytest.raises(OutOfScope, match="resource volume db"):
        LocalArchives(data_dir.root).locate(
            volume, prune_of(volume, resource=ev.ResourceRef(kind="container", name="db"))
        )
