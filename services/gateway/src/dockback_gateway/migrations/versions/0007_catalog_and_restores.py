"""artifact catalog and restores: the catalog's order and prune-job indexes, verify jobs by artifact

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_artifacts_created_id", "artifacts", ["created_at", "id"], unique=False)
    op.create_index("ix_artifacts_prune_job_id", "artifacts", ["prune_job_id"], unique=False)
    op.create_table(
        "artifact_verifications",
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("artifact_id", sa.Uuid(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=True),
        sa.Column("scheduled_for", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["artifact_id"],
            ["artifacts.id"],
            name=op.f("fk_artifact_verifications_artifact_id_artifacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("job_id", name=op.f("pk_artifact_verifications")),
    )
    op.create_index(
        op.f("ix_artifact_verifications_artifact_id"), "artifact_verifications", ["artifact_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_artifact_verifications_artifact_id"), table_name="artifact_verifications")
    op.drop_table("artifact_verifications")
    op.drop_index("ix_artifacts_prune_job_id", table_name="artifacts")
    op.drop_index("ix_artifacts_created_id", table_name="artifacts")
