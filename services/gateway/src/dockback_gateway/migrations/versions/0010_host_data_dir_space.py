"""hosts: the free space of each executor's data dir, from its heartbeats

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Null until the host's executor sends a heartbeat that measures it.
    op.add_column("hosts", sa.Column("data_dir_free_bytes", sa.BigInteger(), nullable=True))
    op.add_column("hosts", sa.Column("data_dir_total_bytes", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column("hosts", "data_dir_total_bytes")
    op.drop_column("hosts", "data_dir_free_bytes")
