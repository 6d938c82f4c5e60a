"""a plan's local-copies policy: what stays on the host once an archive's remote copies are verified

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing plans keep every local archive, as they did before the policy existed.
    op.add_column(
        "plans",
        sa.Column(
            "local_copies", sa.JSON(), server_default=sa.text("""'{"keep": "all", "last": 1}'"""), nullable=False
        ),
    )


def downgrade() -> None:
    op.drop_column("plans", "local_copies")
