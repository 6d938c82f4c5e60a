"""storage changes: the bytes kept (total, on hosts, remote) change per UTC day, recorded by the
database itself whenever an archive or a remote copy is written, so the dashboard's 30-day storage
chart sums a few rows per day instead of every archive kept and its copies on each request

An archive counts from its creation until it is pruned (total); on its host until then, or until
its first remote copy when the uploader removed the local file (local); each remote copy from its
upload (and the archive's creation) until the archive is pruned (remote). What an archive and its
copies contribute is a function of their rows (storage_artifact_part, storage_copy_part); the
triggers record the difference between that function before and after each statement, so any
write (the catalog's events, a person's SQL, COPY) keeps the sums right. A change counts in the UTC
day it falls in; one at midnight in the day that ends then. The dashboard folds the rows into one
per day now and then (dashboard.repository.compact_storage_changes).

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

_FUNCTIONS = """
CREATE FUNCTION storage_day(at timestamptz) RETURNS date LANGUAGE sql IMMUTABLE AS $$
    SELECT ((at - interval '1 microsecond') AT TIME ZONE 'UTC')::date
$$;
--
CREATE FUNCTION storage_artifact_part(
    size bigint, created timestamptz, pruned timestamptz, local_present boolean, first_copy timestamptz
) RETURNS TABLE (at timestamptz, total bigint, local bigint, remote bigint) LANGUAGE sql IMMUTABLE AS $$
    SELECT e.at, e.total, e.local, 0::bigint
    FROM (SELECT CASE WHEN local_present OR pruned IS NOT NULL THEN pruned
                      ELSE coalesce(first_copy, created) END) AS g (gone),
    LATERAL (VALUES
        (created,
         CASE WHEN pruned IS NULL OR pruned > created THEN size ELSE 0 END,
         CASE WHEN (pruned IS NULL OR pruned > created) AND (g.gone IS NULL OR g.gone > created)
              THEN size ELSE 0 END),
        (pruned, CASE WHEN pruned > created THEN -size ELSE 0 END, 0),
        (g.gone, 0, CASE WHEN g.gone > created AND (pruned IS NULL OR pruned > created) THEN -size ELSE 0 END)
    ) AS e (at, total, local)
    WHERE e.at IS NOT NULL AND (e.total <> 0 OR e.local <> 0)
$$;
--
CREATE FUNCTION storage_copy_part(size bigint, uploaded timestamptz, created timestamptz, pruned timestamptz)
RETURNS TABLE (at timestamptz, total bigint, local bigint, remote bigint) LANGUAGE sql IMMUTABLE AS $$
    SELECT e.at, 0::bigint, 0::bigint, e.remote
    FROM (SELECT greatest(created, uploaded)) AS s (since),
    LATERAL (VALUES
        (s.since, CASE WHEN pruned IS NULL OR pruned > s.since THEN size ELSE 0 END),
        (pruned, CASE WHEN pruned > s.since THEN -size ELSE 0 END)
    ) AS e (at, remote)
    WHERE e.at IS NOT NULL AND e.remote <> 0
$$;
"""

# What a set of archive rows contributes, each row with its sign (+1 written, -1 gone), with the
# copies they have now; {rows} is the set's query.
_ARTIFACT_DELTAS = """
INSERT INTO storage_changes (day, total_bytes, local_bytes, remote_bytes)
SELECT storage_day(d.at), sum(d.total), sum(d.local), sum(d.remote)
FROM ({rows}) a,
LATERAL (
    SELECT p.at, a.sign * p.total AS total, a.sign * p.local AS local, 0::bigint AS remote
    FROM storage_artifact_part(a.size_bytes, a.created_at, a.pruned_at, a.local_present,
                               (SELECT min(c.uploaded_at) FROM artifact_copies c WHERE c.artifact_id = a.id)) p
    UNION ALL
    SELECT p.at, 0, 0, a.sign * p.remote
    FROM artifact_copies c, storage_copy_part(c.size_bytes, c.uploaded_at, a.created_at, a.pruned_at) p
    WHERE c.artifact_id = a.id
) d
GROUP BY 1
HAVING sum(d.total) <> 0 OR sum(d.local) <> 0 OR sum(d.remote) <> 0
"""

# What a statement on artifact_copies changed: the copies that went ({gone}) and came ({came});
# each archive they belong to with its first copy before and after, and the copies' own parts.
_COPY_DELTAS = """
WITH gone AS ({gone}), came AS ({came}),
touched AS (
    SELECT a.id, a.size_bytes, a.created_at, a.pruned_at, a.local_present FROM artifacts a
    WHERE a.id IN (SELECT artifact_id FROM gone UNION SELECT artifact_id FROM came)
),
first_now AS (
    SELECT c.artifact_id, min(c.uploaded_at) AS at FROM artifact_copies c
    WHERE c.artifact_id IN (SELECT id FROM touched) GROUP BY 1
),
first_before AS (
    SELECT b.artifact_id, min(b.uploaded_at) AS at FROM (
        SELECT c.artifact_id, c.uploaded_at FROM artifact_copies c
        WHERE c.artifact_id IN (SELECT id FROM touched)
          AND NOT EXISTS (SELECT 1 FROM came n WHERE n.artifact_id = c.artifact_id AND n.target_id = c.target_id)
        UNION ALL
        SELECT g.artifact_id, g.uploaded_at FROM gone g
    ) b GROUP BY 1
),
deltas AS (
    SELECT p.* FROM touched t LEFT JOIN first_now f ON f.artifact_id = t.id,
    LATERAL storage_artifact_part(t.size_bytes, t.created_at, t.pruned_at, t.local_present, f.at) p
    UNION ALL
    SELECT p.at, -p.total, -p.local, -p.remote FROM touched t LEFT JOIN first_before f ON f.artifact_id = t.id,
    LATERAL storage_artifact_part(t.size_bytes, t.created_at, t.pruned_at, t.local_present, f.at) p
    UNION ALL
    SELECT p.* FROM came c JOIN touched t ON t.id = c.artifact_id,
    LATERAL storage_copy_part(c.size_bytes, c.uploaded_at, t.created_at, t.pruned_at) p
    UNION ALL
    SELECT p.at, 0, 0, -p.remote FROM gone g JOIN touched t ON t.id = g.artifact_id,
    LATERAL storage_copy_part(g.size_bytes, g.uploaded_at, t.created_at, t.pruned_at) p
)
INSERT INTO storage_changes (day, total_bytes, local_bytes, remote_bytes)
SELECT storage_day(at), sum(total), sum(local), sum(remote) FROM deltas
GROUP BY 1
HAVING sum(total) <> 0 OR sum(local) <> 0 OR sum(remote) <> 0
"""

_NO_COPIES = "SELECT * FROM artifact_copies WHERE false"

_TRIGGERS = f"""
CREATE FUNCTION storage_artifacts_changed() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
    changed text := CASE TG_OP
        WHEN 'INSERT' THEN 'SELECT 1 AS sign, n.* FROM new_rows n'
        WHEN 'UPDATE' THEN 'SELECT -1 AS sign, o.* FROM old_rows o UNION ALL SELECT 1, n.* FROM new_rows n'
        ELSE 'SELECT -1 AS sign, ($1).*'  -- DELETE, before the row and its copies go
    END;
BEGIN
    EXECUTE format($sql${_ARTIFACT_DELTAS.format(rows="%s")}$sql$, changed) USING OLD;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD END;
END
$fn$;
--
CREATE FUNCTION storage_copies_changed() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
    gone text := CASE WHEN TG_OP = 'INSERT' THEN '{_NO_COPIES}' ELSE 'SELECT * FROM old_rows' END;
    came text := CASE WHEN TG_OP = 'DELETE' THEN '{_NO_COPIES}' ELSE 'SELECT * FROM new_rows' END;
BEGIN
    EXECUTE format($sql${_COPY_DELTAS.format(gone="%s", came="%s")}$sql$, gone, came);
    RETURN NULL;
END
$fn$;
--
CREATE TRIGGER storage_artifacts_inserted AFTER INSERT ON artifacts
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION storage_artifacts_changed();
--
CREATE TRIGGER storage_artifacts_updated AFTER UPDATE ON artifacts
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION storage_artifacts_changed();
--
-- Before each row, while its copies are there: their cascaded deletion finds no archive to change.
CREATE TRIGGER storage_artifacts_deleted BEFORE DELETE ON artifacts
    FOR EACH ROW EXECUTE FUNCTION storage_artifacts_changed();
--
CREATE TRIGGER storage_copies_inserted AFTER INSERT ON artifact_copies
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION storage_copies_changed();
--
CREATE TRIGGER storage_copies_updated AFTER UPDATE ON artifact_copies
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION storage_copies_changed();
--
CREATE TRIGGER storage_copies_deleted AFTER DELETE ON artifact_copies
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION storage_copies_changed();
"""  # noqa: S608 - fixed text, no input


def upgrade() -> None:
    op.create_table(
        "storage_changes",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("total_bytes", sa.BigInteger(), nullable=False),
        sa.Column("local_bytes", sa.BigInteger(), nullable=False),
        sa.Column("remote_bytes", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_storage_changes")),
    )
    for statement in _statements(_FUNCTIONS):
        op.execute(statement)
    op.execute(_ARTIFACT_DELTAS.format(rows="SELECT 1 AS sign, a.* FROM artifacts a"))  # what is kept today
    for statement in _statements(_TRIGGERS):
        op.execute(statement)


def _statements(script: str) -> list[str]:
    """The statements of a script, to run one at a time (asyncpg prepares each): a line holding
    only `--` separates them."""
    return [statement.strip() for statement in script.split("\n--\n") if statement.strip()]


def downgrade() -> None:
    for trigger, table in (
        ("storage_artifacts_inserted", "artifacts"),
        ("storage_artifacts_updated", "artifacts"),
        ("storage_artifacts_deleted", "artifacts"),
        ("storage_copies_inserted", "artifact_copies"),
        ("storage_copies_updated", "artifact_copies"),
        ("storage_copies_deleted", "artifact_copies"),
    ):
        op.execute(f"DROP TRIGGER {trigger} ON {table}")
    for function in (
        "storage_artifacts_changed()",
        "storage_copies_changed()",
        "storage_copy_part(bigint, timestamptz, timestamptz, timestamptz)",
        "storage_artifact_part(bigint, timestamptz, timestamptz, boolean, timestamptz)",
        "storage_day(timestamptz)",
    ):
        op.execute(f"DROP FUNCTION {function}")
    op.drop_table("storage_changes")
