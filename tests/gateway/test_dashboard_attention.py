"""The words of a "needs attention" line (dashboard/attention.py): reasons cut short with no
archive file names, paths, ids or hashes, and the cause that groups failures."""

from __future__ import annotations

import re
import uuid

from hypothesis import given
from hypothesis import strategies as st

from dockback_gateway.dashboard.attention import (
    SHORT_REASON_LENGTH,
    cause,
    cause_words,
    failure_group_key,
    failure_key,
    group_message,
    short_reason,
)

MISSING = (
    f"plan {uuid.uuid4()}'s backup is incomplete: "
    + "; ".join(f"volume 'app-gone-{i}' does not exist on host edge-1" for i in range(12))
    + " (backed up: nothing)"
)
CHECKSUM = (
    "archive /var/lib/dockback/volumes/db/2026-12-01T030000Z-1f2e3d4c.tar.zst refused: sha256 "
    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 is not the recorded one. Nothing was restored."
)


def test_a_list_of_the_same_problem_is_cut_to_the_first_with_how_many_more() -> None:
    assert (
        short_reason(MISSING) == "backup is incomplete: volume 'app-gone-0' does not exist on host edge-1 (and 11 more)"
    )


def test_archive_names_paths_and_hashes_are_left_out_and_the_reason_cut_to_its_first_sentence() -> None:
    assert short_reason(CHECKSUM) == "archive … refused: sha256 … is not the recorded one"


def test_advice_after_the_problem_is_left_out_without_counting_it() -> None:
    reason = "volume 'db' already exists; restore to a new name or allow replacing it"
    assert short_reason(reason) == "volume 'db' already exists"


def test_remote_locations_and_ids_are_left_out() -> None:
    assert short_reason(f"upload of job {uuid.uuid4()} to s3://bucket/hosts/h1/x.tar failed") == (
        "upload of job … to … failed"
    )
    assert short_reason(None) == "no reason given"


def test_failures_of_different_resources_and_hosts_share_a_cause() -> None:
    first = "volume 'alpha' already exists on host h1; restore to a new name"
    second = "volume 'beta' already exists on host h2"
    assert cause(first) == cause(second)
    assert failure_group_key("restore", first) == failure_group_key("restore", second)
    assert failure_group_key("backup", first) != failure_group_key("restore", first)
    assert cause(first) != cause("disk full")
    assert cause_words(first) == "volume already exists"


def test_a_series_key_names_its_kind_plan_host_resource_and_cause() -> None:
    plan = uuid.uuid4()
    key = failure_key("backup", plan, "h1", "volume", "db", "disk full")
    assert key.startswith(f"failed_job:backup:{plan}:h1:volume:db:")
    assert key != failure_key("backup", plan, "h1", "volume", "db", "permission denied")
    assert key == failure_key("backup", plan, "h1", "volume", "db", "disk  full")


def test_a_grouped_line_counts_and_names_a_few() -> None:
    assert (
        group_message("verify", CHECKSUM, ["a", "b"])
        == "2 verifications failed: archive … refused: sha256 … is not the recorded one (a, b)"
    )
    assert group_message("restore", "volume 'x' already exists", list("abcde")).endswith("(a, b, c and 2 more)")


HEX = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)


@given(
    before=st.text(max_size=200),
    digest=HEX,
    name=st.from_regex(r"[a-z0-9_-]{1,30}", fullmatch=True),
    after=st.text(max_size=400),
)
def test_a_short_reason_never_holds_a_hash_or_an_archive_name_and_stays_short(
    before: str, digest: str, name: str, after: str
) -> None:
    reason = f"{before} sha256 {digest} of {name}.tar.zst {after}"
    short = short_reason(reason)
    assert digest not in short
    assert f"{name}.tar.zst" not in short
    assert not re.search(r"[0-9a-f]{64}", short)
    assert len(short) <= SHORT_REASON_LENGTH
