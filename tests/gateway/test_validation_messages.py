"""A 422 names the field and says in words what it must look like: never a regular expression,
never pydantic's "Value error, " prefix."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from dockback_gateway import patterns
from gateway.conftest import Gateway, logged_in_admin


def _patterns_in(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("pattern"), str):
            yield node["pattern"]
        for value in node.values():
            yield from _patterns_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from _patterns_in(value)


async def test_every_format_the_api_documents_has_words(gateway: Gateway) -> None:
    documented = set(_patterns_in(gateway.app.openapi()))
    assert len(documented) >= 10  # the walk found the API's formats
    assert {p for p in documented if patterns.describe(p) is None} == set()


async def test_bad_values_are_refused_with_what_the_field_must_look_like(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as client:
        webhook = await client.post("/settings/webhooks", json={"webhook_id": "ops hook", "url": "ftp://x"})
        target = await client.post(
            "/settings/targets",
            json={"target_id": "t", "endpoint": "https://s3.example.net", "bucket": "b-1", "access_key": "a"},
        )
        cron = await client.get("/plans/schedule-preview", params={"cron": "0 99 * * *", "timezone": "UTC"})
    assert webhook.status_code == target.status_code == cron.status_code == 422
    messages = {e["field"]: e["message"] for r in (webhook, target) for e in r.json()["detail"]}
    assert messages["webhook_id"] == "Use 1-64 letters, digits, '-' or '_', starting with a letter or a digit"
    assert messages["url"].startswith("Enter an http:// or https:// URL")
    assert messages["endpoint"].startswith("Enter host[:port] without http:// or https://")
    assert not any("pattern" in m or "\\x" in m for m in messages.values())
    [cron_error] = cron.json()["detail"]
    assert cron_error["field"] == "cron"
    assert not cron_error["message"].startswith("Value error")


async def test_pydantic_s_own_words_are_said_as_what_to_do(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as client:
        refused = await client.post(
            "/settings/webhooks",
            json={"webhook_id": "ops", "url": "https://hooks.example.net/x", "slack_format": "perhaps", "colour": 1},
        )
    messages = {e["field"]: e["message"] for e in refused.json()["detail"]}
    assert messages["slack_format"] == "Choose yes or no"
    assert messages["colour"] == "Not a field of this request: leave it out"
    assert not any(m.startswith(("String should", "Input should", "Extra inputs")) for m in messages.values())
