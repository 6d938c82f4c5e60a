"""Reading a service's /metrics the way Prometheus does: over HTTP, parsed by prometheus_client."""

from __future__ import annotations

import asyncio
import urllib.request
from collections.abc import Callable

from prometheus_client.parser import text_string_to_metric_families


def scrape(port: int) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample: (name, labels) -> value."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


async def until_scraped(
    port: int, ready: Callable[[dict[tuple[str, frozenset[tuple[str, str]]], float]], bool], within: float = 30
) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Scrape until `ready(samples)`: the values move when the service gets to it, not when the test looks."""
    async with asyncio.timeout(within):
        while True:
            try:
                samples = await asyncio.to_thread(scrape, port)
            except OSError:  # not listening yet
                samples = {}
            if samples and ready(samples):
                return samples
            await asyncio.sleep(0.2)
