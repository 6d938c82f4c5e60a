"""The sample Grafana dashboard (deploy/grafana/dockback.json) queries only metrics the services define."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client import REGISTRY

import dockback_executor.metrics
import dockback_gateway.metrics
import dockback_notifier.metrics
import dockback_runtime.metrics
import dockback_scheduler.metrics
import dockback_uploader.metrics

SERVICE_METRICS = (  # importing them registers every DockBack metric
    dockback_runtime.metrics,
    dockback_executor.metrics,
    dockback_gateway.metrics,
    dockback_notifier.metrics,
    dockback_scheduler.metrics,
    dockback_uploader.metrics,
)

DASHBOARD = Path(__file__).parents[2] / "deploy" / "grafana" / "dockback.json"


def test_every_dashboard_query_names_a_defined_metric_and_every_metric_is_shown() -> None:
    exprs = [t["expr"] for panel in json.loads(DASHBOARD.read_text())["panels"] for t in panel["targets"]]
    queried = {name for expr in exprs for name in re.findall(r"\bdockback_\w+", expr)}
    samples = {s.name for family in REGISTRY.collect() if family.name.startswith("dockback_") for s in family.samples}
    histograms = [family.name for family in REGISTRY.collect() if family.type == "histogram"]
    samples |= {f"{name}_{part}" for name in histograms for part in ("bucket", "count", "sum")}
    families = {family.name for family in REGISTRY.collect() if family.name.startswith("dockback_")}
    counters = {f"{family.name}_total" for family in REGISTRY.collect() if family.type == "counter"}

    assert queried <= samples | families | counters, queried - (samples | families | counters)
    shown = {re.sub(r"_(bucket|count|sum|total)$", "", name) for name in queried}
    assert families <= shown, families - shown
