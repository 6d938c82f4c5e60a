"""The plan book keeps the newest revision of each plan, also across deletes."""

from __future__ import annotations

import uuid

import pytest

from dockback_scheduler.plans import Change, PlanBook, Shard

from .conftest import make_plan


def test_a_newer_revision_replaces_an_older_one_and_never_the_reverse() -> None:
    book = PlanBook()
    first = make_plan()
    second = first.model_copy(update={"revision": 2, "cron": "0 * * * *"})
    assert book.put(first) is Change.ADDED
    assert book.put(second) is Change.CHANGED
    assert book.put(first) is Change.STALE
    assert book.put(second) is Change.STALE
    assert book.get(first.plan_id) == second


def test_an_older_revision_after_a_delete_does_not_bring_the_plan_back() -> None:
    book = PlanBook()
    plan = make_plan(revision=3)
    book.put(plan)
    assert book.remove(plan.plan_id) is Change.REMOVED
    assert book.put(plan.model_copy(update={"revision": 2})) is Change.STALE
    assert book.get(plan.plan_id) is None
    assert book.remove(plan.plan_id) is Change.NONE
    assert book.put(plan.model_copy(update={"revision": 4})) is Change.ADDED


def test_shards_split_the_plans_between_them_each_plan_to_exactly_one() -> None:
    ids = [uuid.uuid4() for _ in range(1000)]
    shards = [Shard(index, 3) for index in range(3)]
    owners = [[shard for shard in shards if shard.owns(plan_id)] for plan_id in ids]
    assert all(len(owner) == 1 for owner in owners)
    shares = [sum(1 for owner in owners if owner == [shard]) for shard in shards]
    assert all(250 < share < 420 for share in shares), shares  # about a third each
    assert all(Shard().owns(plan_id) for plan_id in ids)  # alone: every plan


@pytest.mark.parametrize(("index", "count"), [(2, 2), (-1, 2), (0, 0)])
def test_a_shard_outside_its_count_is_refused(index: int, count: int) -> None:
    with pytest.raises(ValueError, match="index must be from"):
        Shard(index, count)
