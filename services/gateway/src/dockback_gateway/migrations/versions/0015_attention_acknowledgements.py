"""attention_acknowledgements: "needs attention" items a person has seen, by series key

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attention_acknowledgements",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("acknowledged_by", sa.String(length=64), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("through", sa.DateTime(timezone=True), nullable=True),
        sa.Column("free_bytes", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_attention_acknowledgements")),
    )


def downgrade() -> None:
    op.drop_table("attention_acknowledgements")
