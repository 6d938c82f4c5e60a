"""users.last_login_at; mfa_policy: the roles whose users must have a second factor

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "mfa_policy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("required_roles", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_mfa_policy_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mfa_policy")),
    )


def downgrade() -> None:
    op.drop_table("mfa_policy")
    op.drop_column("users", "last_login_at")
