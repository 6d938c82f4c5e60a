"""What a hook printed loses its secrets before it leaves the host."""

from __future__ import annotations

import pytest

from dockback_runtime.redaction import redact


@pytest.mark.parametrize(
    ("printed", "shown"),
    [
        ("mysqldump -u root -pS3cret app", "mysqldump -u root -p *** app"),
        ("mysqldump -p S3cret app", "mysqldump -p *** app"),
        ("pg_dump --password=hunter2 app", "pg_dump --password=*** app"),
        ("tool --db-password hunter2", "tool --db-password ***"),
        ("PGPASSWORD=hunter2 pg_dump", "PGPASSWORD=*** pg_dump"),
        ("MY_API_KEY: xyz", "MY_API_KEY: ***"),
        ("connect postgres://admin:hunter2@db:5432/x failed", "connect postgres://***@db:5432/x failed"),
        ("Authorization: Bearer abc.def", "Authorization: Bearer ***"),
        ("ls -la /tmp; 3 files passed", "ls -la /tmp; 3 files passed"),
    ],
)
def test_secrets_in_printed_text_are_masked(printed: str, shown: str) -> None:
    assert redact(printed) == shown
