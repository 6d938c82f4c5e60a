"""The gateway's configuration as the entry point reads it: from the environment alone."""

from __future__ import annotations

import pytest

from dockback_gateway.config import Settings


@pytest.fixture(autouse=True)
def no_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    """Neither name set unless a test sets it (the machine running the tests may have one)."""
    monkeypatch.delenv("DOCKBACK_DATABASE_URL", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)


def test_the_database_url_is_read_from_the_prefixed_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKBACK_DATABASE_URL", "postgresql+asyncpg://prefixed/db")
    assert Settings().database_url.get_secret_value() == "postgresql+asyncpg://prefixed/db"


def test_the_database_url_is_read_from_the_plain_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://plain/db")
    assert Settings().database_url.get_secret_value() == "postgresql+asyncpg://plain/db"


def test_the_prefixed_name_wins_when_both_are_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://plain/db")
    monkeypatch.setenv("DOCKBACK_DATABASE_URL", "postgresql+asyncpg://prefixed/db")
    assert Settings().database_url.get_secret_value() == "postgresql+asyncpg://prefixed/db"


def test_without_either_name_the_error_names_the_setting() -> None:
    with pytest.raises(ValueError, match="DOCKBACK_DATABASE_URL"):
        Settings()


def test_the_field_name_still_configures_it_in_code() -> None:
    settings = Settings(database_url="postgresql+asyncpg://code/db")
    assert settings.database_url.get_secret_value() == "postgresql+asyncpg://code/db"
