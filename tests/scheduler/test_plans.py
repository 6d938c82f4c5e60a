"""The plan book keeps the newest revision of each plan, also across deletes."""

from __future__ import annotations

from dockback_scheduler.plans import Change, PlanBook

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
