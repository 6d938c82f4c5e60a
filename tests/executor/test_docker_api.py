"""The engine's answers as job errors, on the real engine: what no retry can heal fails at once."""

from __future__ import annotations

import pytest

from dockback_executor.docker_api import DockerEngine, split_image_reference
from dockback_executor.errors import EngineFailed


async def test_an_engine_error_no_retry_can_heal_is_permanent(engine: DockerEngine, busybox_image: str) -> None:
    # The engine answers an invalid tag with a 500, as it does a full disk or a file name too long.
    with pytest.raises(EngineFailed, match="invalid tag format") as failed:
        await engine.tag_image(busybox_image, "dockback-test/never", "not!a-tag")
    assert not failed.value.retryable


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("repo", ("repo", "latest")),
        ("repo:newtag", ("repo", "newtag")),
        ("localhost:5000/team/app:1.2", ("localhost:5000/team/app", "1.2")),
        ("registry.example.com/a_b__c-d.e", ("registry.example.com/a_b__c-d.e", "latest")),
    ],
)
def test_an_image_name_splits_into_repository_and_tag(name: str, expected: tuple[str, str]) -> None:
    assert split_image_reference(name) == expected


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("Upper:tag", "'Upper' is not a repository name"),
        ("repo:bad!", "'bad!' is not a tag"),
        ("repo:", "'' is not a tag"),
        ("repo@sha256:" + "0" * 64, "digest"),
        ("a//b", "is not a repository name"),
        ("repo:" + "t" * 129, "is not a tag"),
    ],
)
def test_a_name_that_cannot_be_an_image_tag_is_refused_saying_why(name: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        split_image_reference(name)
