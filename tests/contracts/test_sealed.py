"""Secret fields cross the bus sealed with AES-256-GCM, bound to the field's name."""

from __future__ import annotations

import os

import pytest

from dockback_contracts.sealed import SealError, load_key, seal, unseal


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
