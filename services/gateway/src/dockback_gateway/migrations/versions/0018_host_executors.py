"""host executors: each executor process of a host heartbeats for itself, so two executors of one
host (sharing its work) no longer overwrite each other's running jobs

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "host_executors",
        sa.Column("host_id", sa.String(64), nullable=False),
        sa.Column("instance_id", sa.String(64), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("interval_seconds", sa.Double(), nullable=False),
        sa.Column("running_job_ids", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["host_id"], ["hosts.host_id"], name=op.f("fk_host_executors_host_id_hosts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("host_id", "instance_id", name=op.f("pk_host_executors")),
    )
    op.add_column("hosts", sa.Column("executors", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("hosts", "executors")
    op.drop_table("host_executors")
