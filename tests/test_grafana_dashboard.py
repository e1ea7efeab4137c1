"""deploy/grafana/baton-dashboard.json: valid Grafana dashboard JSON whose queries name only metrics Baton or the
Temporal SDK emits. Baton's: the API's prometheus_client registry (with the process and Python collectors) and the
counters its workflows and activities create through the SDK's metric meter; the SDK's: names its Core bridge
carries (the Prometheus exporter adds the `temporal_` prefix, histograms `_bucket`, `_sum` and `_count`)."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import temporalio.bridge
from prometheus_client import REGISTRY, generate_latest

import api.metrics  # noqa: F401  (registers the API's counters)

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = ROOT / "deploy" / "grafana" / "baton-dashboard.json"
METRIC = re.compile(r"\b((?:baton|temporal|process|python)_[a-z0-9_]+)\b")
HISTOGRAM_SERIES = re.compile(r"_(bucket|sum|count)$")


def _dashboard() -> dict:
    return json.loads(DASHBOARD.read_text())


def _queries(dashboard: dict) -> list[str]:
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", [])]
    exprs += [v["definition"] for v in dashboard["templating"]["list"] if v.get("definition")]
    return exprs


def _api_metrics() -> set[str]:
    """Every name the API's /metrics exposes (HELP lines are written even for a counter with no samples yet)."""
    text = generate_latest(REGISTRY).decode()
    return set(re.findall(r"^# HELP (\S+)", text, re.MULTILINE)) | {
        line.split("{")[0].split(" ")[0] for line in text.splitlines() if line and not line.startswith("#")
    }


def _worker_metrics() -> set[str]:
    """Counters Baton's workflows and activities create through the SDK (exposed without a `_total` suffix)."""
    names = set()
    for folder in ("workflows", "activities"):
        for path in (ROOT / folder).rglob("*.py"):
            names |= set(re.findall(r'create_(?:counter|histogram|gauge)\(\s*"([a-z0-9_]+)"', path.read_text()))
    return names


@functools.cache
def _bridge() -> bytes:
    return next(Path(temporalio.bridge.__file__).parent.glob("temporal_sdk_bridge*")).read_bytes()


def _sdk_emits(name: str) -> bool:
    """The Core bridge holds the metric names as string literals (packed end to end, so no word boundaries)."""
    return HISTOGRAM_SERIES.sub("", name.removeprefix("temporal_")).encode() in _bridge()


def test_dashboard_is_grafana_json_with_unique_panels_and_queries():
    dashboard = _dashboard()
    assert dashboard["uid"] and dashboard["title"] == "Baton" and dashboard["schemaVersion"] >= 36
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    graphs = [panel for panel in dashboard["panels"] if panel["type"] != "row"]
    assert len(graphs) >= 12
    for panel in graphs:
        assert panel["title"] and panel["targets"], panel
        assert {"h", "w", "x", "y"} <= panel["gridPos"].keys()
        refs = [target["refId"] for target in panel["targets"]]
        assert len(refs) == len(set(refs)) and all(target["expr"].strip() for target in panel["targets"])
    assert {v["name"] for v in dashboard["templating"]["list"]} >= {"datasource", "task_queue"}


def test_dashboard_queries_only_metrics_baton_or_the_sdk_emits():
    api, worker = _api_metrics(), _worker_metrics()
    assert {"baton_orders_placed_total", "process_cpu_seconds_total"} <= api
    assert {"baton_sla_alerts_raised", "baton_store_pushes"} <= worker
    used = {name for expr in _queries(_dashboard()) for name in METRIC.findall(expr)}
    assert any(name.startswith("temporal_") for name in used) and any(name.startswith("baton_") for name in used)
    unknown = sorted(
        name
        for name in used
        if name not in api and name not in worker and not (name.startswith("temporal_") and _sdk_emits(name))
    )
    assert unknown == [], f"the dashboard queries metrics nobody emits: {unknown}"


def test_the_check_catches_a_metric_nobody_emits():
    assert not _sdk_emits("temporal_workflow_task_teleport_latency_bucket")
    assert "baton_orders_teleported_total" not in _api_metrics()
