"""settings_webhooks: the URL is a secret (encrypted, shown by its host name only)

The clear-text URLs move to `url_plaintext`; the gateway encrypts them into `url` at its next
start (the migration has no key) and clears `url_plaintext`.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from urllib.parse import urlsplit

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.alter_column("settings_webhooks", "url", new_column_name="url_plaintext", nullable=True)
    op.add_column("settings_webhooks", sa.Column("url", sa.LargeBinary(), nullable=True))
    op.add_column("settings_webhooks", sa.Column("url_host", sa.String(255), nullable=False, server_default=""))
    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT webhook_id, url_plaintext FROM settings_webhooks")).all()
    for webhook_id, url in rows:
        connection.execute(
            sa.text("UPDATE settings_webhooks SET url_host = :host WHERE webhook_id = :id"),
            {"host": (urlsplit(url).hostname or "")[:255], "id": webhook_id},
        )
    op.alter_column("settings_webhooks", "url_host", server_default=None)


def downgrade() -> None:
    # The migration has no key: encrypted URLs cannot be written back in clear. Refuse rather
    # than lose them; deleting those webhooks (and adding them again after) is the way back.
    encrypted = op.get_bind().scalar(sa.text("SELECT count(*) FROM settings_webhooks WHERE url_plaintext IS NULL"))
    if encrypted:
        raise RuntimeError(
            f"{encrypted} webhook URLs are encrypted and cannot go back to clear text: delete those webhooks first"
        )
    op.drop_column("settings_webhooks", "url_host")
    op.drop_column("settings_webhooks", "url")
    op.alter_column("settings_webhooks", "url_plaintext", new_column_name="url", nullable=False)
