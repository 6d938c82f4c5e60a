"""Secret fields cross the bus sealed (AES-256-GCM with a shared key, or to a recipient's X25519 key),
bound to the field's name."""

from __future__ import annotations

import os

import pytest

from dockback_contracts.sealed import (
    SealError,
    derive_private_key,
    load_key,
    parse_public_key,
    public_key_text,
    seal,
    seal_to,
    unseal,
)


def test_a_sealed_value_opens_with_the_same_key_and_field() -> None:
    key = os.urandom(32)
    sealed = seal(key, "smtp.password", "hunter2-but-longer")
    assert "hunter2" not in sealed.model_dump_json()
    assert unseal(key, "smtp.password", sealed) == "hunter2-but-longer"


def test_a_value_sealed_for_one_field_cannot_be_opened_as_another() -> None:
    key = os.urandom(32)
    sealed = seal(key, "smtp.password", "secret")
    with pytest.raises(SealError, match=r"s3\.secret_key"):
        unseal(key, "s3.secret_key", sealed)


def test_the_wrong_key_cannot_open_a_sealed_value() -> None:
    sealed = seal(os.urandom(32), "f", "secret")
    with pytest.raises(SealError):
        unseal(os.urandom(32), "f", sealed)


def test_a_key_file_holds_32_bytes_as_hex_or_base64() -> None:
    import base64

    key = os.urandom(32)
    assert load_key(key.hex() + "\n") == key
    assert load_key(base64.b64encode(key).decode()) == key
    with pytest.raises(SealError, match="32 bytes"):
        load_key("abcd")


# -- sealed to one recipient's public key (each host's uploader, the notifier) -------------------


def test_a_value_sealed_to_a_public_key_opens_with_its_private_key_only() -> None:
    host_a = derive_private_key(os.urandom(32), "uploader-host-a")
    host_b = derive_private_key(os.urandom(32), "uploader-host-b")
    sealed = seal_to(public_key_text(host_b), "settings.targets.t.secret_key", "the-s3-secret")
    assert "the-s3-secret" not in sealed.model_dump_json()
    assert unseal(host_b, "settings.targets.t.secret_key", sealed) == "the-s3-secret"
    with pytest.raises(SealError):
        unseal(host_a, "settings.targets.t.secret_key", sealed)


def test_a_value_sealed_to_a_public_key_is_bound_to_its_field() -> None:
    key = derive_private_key(os.urandom(32), "notifier")
    sealed = seal_to(key.public_key(), "settings.smtp.password", "secret")
    with pytest.raises(SealError, match="signing_secret"):
        unseal(key, "settings.webhooks.w.signing_secret", sealed)


def test_a_shared_key_does_not_open_what_was_sealed_to_a_public_key_nor_the_reverse() -> None:
    shared = os.urandom(32)
    private = derive_private_key(shared, "notifier")
    with pytest.raises(SealError):
        unseal(shared, "f", seal_to(private.public_key(), "f", "secret"))
    with pytest.raises(SealError):
        unseal(private, "f", seal(shared, "f", "secret"))


def test_a_tampered_ephemeral_key_does_not_open() -> None:
    key = derive_private_key(os.urandom(32), "notifier")
    sealed = seal_to(key.public_key(), "f", "secret")
    other = public_key_text(derive_private_key(os.urandom(32), "x"))
    with pytest.raises(SealError):
        unseal(key, "f", sealed.model_copy(update={"epk": other}))


def test_a_derived_key_pair_depends_on_the_secret_and_its_owner() -> None:
    secret = os.urandom(32)
    same = public_key_text(derive_private_key(secret, "uploader-h1"))
    assert public_key_text(derive_private_key(secret, "uploader-h1")) == same
    assert public_key_text(derive_private_key(secret, "uploader-h2")) != same
    assert public_key_text(derive_private_key(os.urandom(32), "uploader-h1")) != same
    with pytest.raises(SealError, match="32 bytes"):
        parse_public_key("abcd")
