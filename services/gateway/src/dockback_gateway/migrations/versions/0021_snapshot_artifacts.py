"""snapshot artifacts: an artifact is an archive or a snapshot in a restic repository of its host
(format, repository, snapshot id)

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("artifacts", sa.Column("format", sa.String(length=16), server_default="archive", nullable=False))
    op.add_column("artifacts", sa.Column("repository", sa.String(length=128), nullable=True))
    op.add_column("artifacts", sa.Column("snapshot_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    for column in ("snapshot_id", "repository", "format"):
        op.drop_column("artifacts", column)
