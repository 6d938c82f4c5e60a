"""settings: S3 targets, SMTP, webhooks, defaults (secrets as ciphertext)

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "settings_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_settings_revision_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settings_revision")),
    )
    op.execute("INSERT INTO settings_revision (id, revision) VALUES (1, 1)")
    op.create_table(
        "settings_s3_targets",
        sa.Column("target_id", sa.String(length=64), nullable=False),
        sa.Column("endpoint", sa.String(length=255), nullable=False),
        sa.Column("secure", sa.Boolean(), nullable=False),
        sa.Column("region", sa.String(length=64), nullable=True),
        sa.Column("bucket", sa.String(length=63), nullable=False),
        sa.Column("prefix", sa.String(length=512), nullable=False),
        sa.Column("access_key", sa.LargeBinary(), nullable=False),
        sa.Column("secret_key", sa.LargeBinary(), nullable=False),
        sa.Column("part_size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("verify_full_read", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("target_id", name=op.f("pk_settings_s3_targets")),
    )
    op.create_table(
        "settings_smtp",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("security", sa.String(length=16), nullable=False),
        sa.Column("username", sa.String(length=255), nullable=True),
        sa.Column("password", sa.LargeBinary(), nullable=True),
        sa.Column("from_address", sa.String(length=254), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_settings_smtp_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settings_smtp")),
    )
    op.create_table(
        "settings_webhooks",
        sa.Column("webhook_id", sa.String(length=64), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("signing_secret", sa.LargeBinary(), nullable=True),
        sa.Column("slack_format", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("webhook_id", name=op.f("pk_settings_webhooks")),
    )
    op.create_table(
        "settings_defaults",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("default_compression", sa.String(length=8), nullable=False),
        sa.Column("ui_base_url", sa.String(length=2048), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_settings_defaults_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settings_defaults")),
    )


def downgrade() -> None:
    op.drop_table("settings_defaults")
    op.drop_table("settings_webhooks")
    op.drop_table("settings_smtp")
    op.drop_table("settings_s3_targets")
    op.drop_table("settings_revision")
