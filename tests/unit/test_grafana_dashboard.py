"""The shipped Grafana dashboard charts every metric of ``actors.metrics`` and nothing else."""

import json
import re
from pathlib import Path

from actors.metrics import COUNTER, HISTOGRAM, SPECS

DASHBOARD = Path(__file__).parents[2] / "deployments" / "grafana_dashboard.json"


def exported(name: str) -> str:
    """The name Ray's Prometheus export gives a metric (``ray_`` prefix, counter suffix)."""
    kind = SPECS[name][0]
    return f"ray_{name}" + {COUNTER: "_total", HISTOGRAM: "_bucket"}.get(kind, "")


def test_dashboard_charts_every_metric_under_its_exported_name():
    panels = json.loads(DASHBOARD.read_text())["panels"]
    exprs = " ".join(t["expr"] for p in panels for t in p["targets"])
    used = set(re.findall(r"\bray_lakehouse_\w+", exprs))
    assert used == {exported(name) for name in SPECS}
    assert len({p["id"] for p in panels}) == len(panels)
