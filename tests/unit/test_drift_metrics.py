"""Which figures of each kind of drift report become ``lakehouse_drift_statistic`` series."""

import numpy as np
import pyarrow as pa

from actors.metrics import drift, drift_statistics
from lakehouse.drift.report import (
    DriftThresholds,
    baseline_report,
    embedding_report,
    playbook_report,
    verdict_report,
)

TH = DriftThresholds()


def test_each_kind_names_its_statistics_from_a_real_report():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(20, 4)), rng.normal(loc=3.0, size=(20, 4))
    emb = drift_statistics(embedding_report(a, b, TH, seed=0))
    assert (
        set(emb) == {"centroid_cosine_distance", "mmd2_p_value"} and 0 <= emb["mmd2_p_value"] <= 1
    )
    mixed = pa.table({"status": ["accepted", "rejected"] * 10, "error_classes": [[]] * 20})
    accepted = pa.table({"status": ["accepted"] * 20, "error_classes": [[]] * 20})
    (p_value,) = drift_statistics(verdict_report(mixed, accepted, TH)).values()
    assert 0 <= p_value < 0.05
    records = [{"outcome": "success", "ids": ["W1", "W2"], "record_id": "r", "query": "q"}]
    assert drift_statistics(playbook_report(records, {"W1": "x"}, None, TH)) == {
        "stale_successes": 1
    }
    now = {"n": 10, "accepted_rate": 0.5}
    base = {"n": 10, "accepted_rate": 0.9}
    assert drift_statistics(baseline_report(now, base, TH)) == {"breaches": 1}


def test_publishing_outside_ray_is_a_no_op():
    records = [{"outcome": "success", "ids": ["W1"], "record_id": "r", "query": "q"}]
    assert drift(playbook_report(records, {}, None, TH)) is None
