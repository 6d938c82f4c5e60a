"""list indexes: each list the web UI reads (jobs, artifacts, audit, dashboard, plans) has an index
that gives its filter and its order, found by tests/gateway/test_list_queries.py

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Jobs newest first by host, or by plan: the filter, then the page order (created_at, id).
    op.drop_index("ix_jobs_host_id", table_name="jobs")
    op.create_index("ix_jobs_host_created_id", "jobs", ["host_id", "created_at", "id"])
    op.drop_index("ix_jobs_plan_created", table_name="jobs")
    op.create_index("ix_jobs_plan_created_id", "jobs", ["plan_id", "created_at", "id"])
    # The dashboard's jobs of the last 24 hours: those that ended since, by the time they ended.
    op.create_index("ix_jobs_ended_at", "jobs", [sa.text("coalesce(finished_at, last_event_at, created_at)")])
    # The few jobs that deleted a backup by hand, which the catalog leaves out (an anti-join).
    op.create_index(
        "ix_jobs_delete_requests",
        "jobs",
        ["id"],
        postgresql_where=sa.text("(request ->> 'type') = 'delete_requested.v1'"),
    )

    # The catalog newest first by host, plan, resource or state.
    op.drop_index("ix_artifacts_plan_id", table_name="artifacts")
    op.create_index("ix_artifacts_plan_created_id", "artifacts", ["plan_id", "created_at", "id"])
    op.create_index("ix_artifacts_host_created_id", "artifacts", ["host_id", "created_at", "id"])
    op.create_index("ix_artifacts_resource_created_id", "artifacts", ["resource_name", "created_at", "id"])
    op.create_index("ix_artifacts_state_created_id", "artifacts", ["state", "created_at", "id"])
    # Each plan's newest verified archive (the dashboard): only verified ones are indexed.
    op.create_index(
        "ix_artifacts_plan_verified",
        "artifacts",
        ["plan_id", "verified_at"],
        postgresql_where=sa.text("verified_at IS NOT NULL"),
    )

    # The audit log by actor or outcome, newest first; an action's prefix (LIKE 'login%') whatever
    # the database's collation.
    op.create_index("ix_audit_log_actor_id", "audit_log", ["actor", "id"])
    op.create_index("ix_audit_log_outcome_id", "audit_log", ["outcome", "id"])
    op.create_index(
        "ix_audit_log_action_prefix", "audit_log", ["action"], postgresql_ops={"action": "varchar_pattern_ops"}
    )


def downgrade() -> None:
    op.drop_index("ix_audit_log_action_prefix", table_name="audit_log")
    op.drop_index("ix_audit_log_outcome_id", table_name="audit_log")
    op.drop_index("ix_audit_log_actor_id", table_name="audit_log")
    op.drop_index("ix_artifacts_plan_verified", table_name="artifacts")
    op.drop_index("ix_artifacts_state_created_id", table_name="artifacts")
    op.drop_index("ix_artifacts_resource_created_id", table_name="artifacts")
    op.drop_index("ix_artifacts_host_created_id", table_name="artifacts")
    op.drop_index("ix_artifacts_plan_created_id", table_name="artifacts")
    op.create_index("ix_artifacts_plan_id", "artifacts", ["plan_id"])
    op.drop_index("ix_jobs_delete_requests", table_name="jobs")
    op.drop_index("ix_jobs_ended_at", table_name="jobs")
    op.drop_index("ix_jobs_plan_created_id", table_name="jobs")
    op.create_index("ix_jobs_plan_created", "jobs", ["plan_id", "created_at"])
    op.drop_index("ix_jobs_host_created_id", table_name="jobs")
    op.create_index("ix_jobs_host_id", "jobs", ["host_id"])
