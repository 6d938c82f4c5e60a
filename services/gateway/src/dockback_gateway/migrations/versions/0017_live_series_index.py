"""live series index: the dashboard's and the resources' coverage (each series' newest archive not
pruned and its newest verification) read from one index of the archives not pruned, not the table

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_artifacts_live_series",
        "artifacts",
        ["host_id", "resource_kind", "resource_name", "role", "created_at"],
        postgresql_include=["verified_at"],
        postgresql_where=sa.text("state <> 'pruned'"),
    )


def downgrade() -> None:
    op.drop_index("ix_artifacts_live_series", table_name="artifacts")
