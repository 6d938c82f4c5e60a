"""login_brakes: attempts counted per key with one upsert before checking (replaces
login_failures); sessions: the refresh token rotated out last and when

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_brakes",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_brakes")),
    )
    op.create_index(op.f("ix_login_brakes_last_attempt_at"), "login_brakes", ["last_attempt_at"], unique=False)
    # Failures of the old table are not carried over: the brakes start from nothing.
    op.drop_table("login_failures")
    op.add_column("sessions", sa.Column("previous_refresh_hash", sa.String(length=64), nullable=True))
    op.add_column("sessions", sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("sessions", "rotated_at")
    op.drop_column("sessions", "previous_refresh_hash")
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    op.create_index(op.f("ix_login_failures_account"), "login_failures", ["account"], unique=False)
    op.create_index(op.f("ix_login_failures_at"), "login_failures", ["at"], unique=False)
    op.create_index(op.f("ix_login_failures_ip"), "login_failures", ["ip"], unique=False)
    op.drop_index(op.f("ix_login_brakes_last_attempt_at"), table_name="login_brakes")
    op.drop_table("login_brakes")
