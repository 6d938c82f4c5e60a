"""succeeded-job digests: the SMTP server and each webhook may also get a digest of succeeded jobs

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing channels keep hearing only about failures, as they did before.
    for table in ("settings_smtp", "settings_webhooks"):
        op.add_column(table, sa.Column("succeeded_digest", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    for table in ("settings_webhooks", "settings_smtp"):
        op.drop_column(table, "succeeded_digest")
