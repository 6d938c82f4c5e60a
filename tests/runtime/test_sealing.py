"""A service's sealing key derives from its own NATS credentials (or, without any, from the
settings key file), and is refused when it would belong to someone else."""

from __future__ import annotations

import os
from pathlib import Path

import nkeys
import pytest
from nacl.signing import SigningKey

from dockback_contracts.sealed import public_key_text
from dockback_runtime.connection import NatsCredentials, write_credentials
from dockback_runtime.sealing import SealingKeyProblem, service_sealing_key


def new_seed() -> str:
    return str(nkeys.encode_seed(bytes(SigningKey.generate()), nkeys.PREFIX_BYTE_USER).decode())


def creds(tmp_path: Path, role: str, seed: str | None = None) -> Path:
    path = tmp_path / f"{role}.creds"
    write_credentials(path, NatsCredentials(role=role, seed=seed or new_seed()))
    return path


def test_the_key_derives_from_the_credentials_and_differs_per_role_and_seed(tmp_path: Path) -> None:
    seed = new_seed()
    a = service_sealing_key("uploader-h1", creds(tmp_path, "uploader-h1", seed), None)
    again = service_sealing_key("uploader-h1", creds(tmp_path, "uploader-h1", seed), None)
    rotated = service_sealing_key("uploader-h1", creds(tmp_path, "uploader-h1"), None)
    assert public_key_text(a) == public_key_text(again)
    assert public_key_text(a) != public_key_text(rotated)


def test_another_roles_credentials_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SealingKeyProblem, match="uploader-h2"):
        service_sealing_key("uploader-h1", creds(tmp_path, "uploader-h2"), None)


def test_a_nats_creds_file_gives_its_user_seed(tmp_path: Path) -> None:
    seed = new_seed()
    path = tmp_path / "user.creds"
    path.write_text(
        "-----BEGIN NATS USER JWT-----\neyJ0eXAi\n------END NATS USER JWT------\n\n"
        f"-----BEGIN USER NKEY SEED-----\n{seed}\n------END USER NKEY SEED------\n"
    )
    from_jwt = service_sealing_key("notifier", path, None)
    from_ours = service_sealing_key("notifier", creds(tmp_path, "notifier", seed), None)
    assert public_key_text(from_jwt) == public_key_text(from_ours)


def test_without_credentials_the_settings_key_file_is_used_and_without_either_it_says_what_to_set(
    tmp_path: Path,
) -> None:
    key_file = tmp_path / "settings.key"
    key_file.write_text(os.urandom(32).hex())
    assert service_sealing_key("notifier", None, key_file) is not None
    with pytest.raises(SealingKeyProblem, match="DOCKBACK_NATS_CREDENTIALS_FILE"):
        service_sealing_key("notifier", None, None)
    with pytest.raises(SealingKeyProblem, match="cannot read"):
        service_sealing_key("notifier", None, tmp_path / "missing.key")
