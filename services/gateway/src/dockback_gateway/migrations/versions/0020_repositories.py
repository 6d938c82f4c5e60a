"""repositories: the restic repository of each plan (format `repository`) on its host, with its
password encrypted by the settings key

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "repositories",
        sa.Column("host_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("plan_id", sa.Uuid(), nullable=True),
        sa.Column("password", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("host_id", "name", name=op.f("pk_repositories")),
    )


def downgrade() -> None:
    op.drop_table("repositories")
