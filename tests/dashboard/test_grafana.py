"""docs/grafana-dashboard.json queries only the metrics loopsafe exports, with their labels."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest

from loopsafe.runtime.sinks.prometheus import PrometheusSink
from loopsafe.runtime.stacks import Frame
from loopsafe.runtime.watchdog import StallEvent

DASHBOARD = Path(__file__).parents[2] / "docs" / "grafana-dashboard.json"
SCRAPE_LABELS = {"job", "instance", "le"}  # added by Prometheus, or the histogram's own


def exported() -> dict[str, set[str]]:
    """Sample name -> label names, from a registry the sink has fed."""
    registry = CollectorRegistry()
    sink = PrometheusSink(registry)
    frame = Frame("app.py", 3, "f")
    sink.on_stall(StallEvent(1, 0.0, 0.2, "GET /x", None, None, frame, frame))
    monitor: Any = type("M", (), {"new_lags": [(0.0, 0.001)], "in_flight": lambda self: 3})()
    monitor.aggregate = type(
        "A",
        (),
        {
            "pool": {"total": 40, "used": 1, "waiting": 0},
            "host_pauses": {"count": 1, "starved": 1, "frozen": 0},
        },
    )()
    sink.on_tick(monitor)
    samples: dict[str, set[str]] = {}
    for line in generate_latest(registry).decode().splitlines():
        if line and not line.startswith("#"):
            name, _, rest = line.partition("{")
            labels = set(re.findall(r'(\w+)="', rest)) if rest else set()
            samples.setdefault(name.split(" ")[0], set()).update(labels)
    return samples


def queries(dashboard: dict[str, Any]) -> list[str]:
    found = [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", [])]
    found += [v["definition"] for v in dashboard["templating"]["list"] if v["type"] == "query"]
    return found


def test_grafana_dashboard_queries_exported_metrics_and_labels() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    samples = exported()
    used: set[str] = set()
    for expr in queries(dashboard):
        names = re.findall(r"\bloopsafe_\w+", expr)
        assert names, expr
        for name in names:
            assert name in samples, f"{name} is not exported (in {expr})"
            used.add(name)
            for group in re.findall(r"by \(([^)]*)\)", expr):
                for label in (part.strip() for part in group.split(",")):
                    assert label in samples[name] | SCRAPE_LABELS, f"{label} on {name}"
    families = {re.sub(r"_(bucket|count|sum|total|created)$", "", n) for n in samples}
    assert families <= {re.sub(r"_(bucket|count|sum|total)$", "", n) for n in used}
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])
