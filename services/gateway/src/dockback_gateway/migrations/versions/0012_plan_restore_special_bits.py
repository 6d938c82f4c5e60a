"""plans.restore_special_bits: whether restores of a plan's archives may write setuid/setgid files

Off for every existing plan: restores refuse such files unless an admin allows them.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("plans", sa.Column("restore_special_bits", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    op.drop_column("plans", "restore_special_bits")
