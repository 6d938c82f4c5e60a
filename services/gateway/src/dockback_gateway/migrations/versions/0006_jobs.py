"""jobs: when the reconciler last republished a job, a backup's upload targets, when its last archive was recorded

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("republished_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("jobs", sa.Column("upload_targets", sa.JSON(), nullable=True))
    op.add_column("jobs", sa.Column("archives_done_at", sa.DateTime(timezone=True), nullable=True))
    # The reconciler looks for open jobs by status; the list view filters by kind and host.
    op.create_index("ix_jobs_kind_created", "jobs", ["kind", "created_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_jobs_kind_created", table_name="jobs")
    op.drop_column("jobs", "archives_done_at")
    op.drop_column("jobs", "upload_targets")
    op.drop_column("jobs", "republished_at")
