"""A volume's storage said in words, and its credentials kept on the host."""

from __future__ import annotations

import pytest

from dockback_contracts.storage import PLAIN_LOCAL, REDACTED, VolumeStorage


@pytest.mark.parametrize(
    ("inspected", "words"),
    [
        ({"Driver": "local", "Options": None}, PLAIN_LOCAL),
        (
            {"Driver": "local", "Options": {"type": "none", "o": "bind", "device": "/srv/app"}},
            "the host directory /srv/app",
        ),
        (
            {"Driver": "local", "Options": {"type": "nfs", "o": "addr=nas.lan,rw,nfsvers=4", "device": ":/export/app"}},
            "the NFS share nas.lan:/export/app",
        ),
        ({"Driver": "local", "Options": {"type": "nfs4", "device": "nas:/export"}}, "the NFS share nas:/export"),
        ({"Driver": "local", "Options": {"type": "cifs", "device": "//nas/app"}}, "the SMB share //nas/app"),
        ({"Driver": "local", "Options": {"type": "tmpfs", "device": "tmpfs"}}, "a new tmpfs in the host's memory"),
        (
            {"Driver": "rexray/ebs", "Options": {"size": "10"}},
            "the storage of the volume driver 'rexray/ebs' (options: size)",
        ),
    ],
)
def test_a_storage_says_in_words_where_it_writes(inspected: dict[str, object], words: str) -> None:
    assert VolumeStorage.from_inspect(inspected).in_words() == words


def test_a_mount_password_never_leaves_the_host_and_such_a_storage_cannot_be_recreated() -> None:
    storage = VolumeStorage.from_inspect(
        {"Driver": "local", "Options": {"type": "cifs", "o": "username=bob,password=hunter2,vers=3", "device": "//n/s"}}
    )
    assert "hunter2" not in storage.model_dump_json()
    assert storage.options["o"] == f"username=bob,password={REDACTED},vers=3"
    assert not storage.recreatable
    assert VolumeStorage.from_inspect({"Driver": "local", "Options": {"type": "none", "o": "bind"}}).recreatable


def test_plain_local_is_the_default() -> None:
    assert VolumeStorage().plain
    assert not VolumeStorage(driver="local", options={"type": "none"}).plain
