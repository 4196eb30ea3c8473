"""The drift reporter: reads the windows a request names and runs the report of its kind.

Reports only read; the one write is ``save_baseline`` (``drift/baselines/<name>.json``).
Every input problem is raised before anything is computed: a missing window (400), a
window or dataset the catalog does not hold or a baseline never saved (404), a side with
fewer than ``MIN_ROWS`` rows (400).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import numpy as np

from lakehouse.catalog.manifest import Manifest
from lakehouse.drift.report import (
    DriftRequest,
    EmbedFn,
    baseline_report,
    embedding_report,
    figures,
    playbook_report,
    sample_rows,
    verdict_report,
)
from lakehouse.drift.windows import Window, read_window
from lakehouse.errors import InvalidInput, NotFound, Unavailable
from lakehouse.storage.base import ObjectStore

BASELINES_PREFIX = "drift/baselines/"
FIGURE_COLUMNS = ("status", "first_shot_accepted", "grounded_in_roster", "latency_ms",
                  "attempts")  # fmt: skip
MIN_ROWS = 10


class DriftReporter:
    """Drift reports over the catalog's datasets and the evidence days.

    Args:
        store: the object store (playbook records, baselines).
        manifests: the catalog's datasets by name, as of now.
        embed: texts -> unit vectors (the replica's embedder), or None.
        roster_columns: the id and role columns of a roster dataset.
    """

    def __init__(
        self, store: ObjectStore, manifests: Mapping[str, Manifest], embed: EmbedFn | None = None,
        roster_columns: tuple[str, str] = ("worker_id", "role"),
    ) -> None:  # fmt: skip
        self.store, self.manifests, self.embed = store, manifests, embed
        self.roster_columns = roster_columns

    def report(self, req: DriftRequest) -> dict[str, Any]:
        handler: Callable[[DriftRequest], dict[str, Any]] = getattr(self, f"_{req.kind}")
        out = handler(req)
        out["windows"] = {k: w.describe() for k, w in (("a", req.a), ("b", req.b)) if w}
        return out

    def _need(self, req: DriftRequest, *sides: str) -> list[Window]:
        missing = [s for s in sides if getattr(req, s) is None]
        if missing:
            raise InvalidInput(f"a {req.kind} report needs windows {missing}", field=missing[0])
        return [getattr(req, s) for s in sides]

    def _read(self, window: Window, columns: tuple[str, ...], side: str) -> Any:
        table = read_window(window, self.manifests, self.store.local_path, columns)
        if table.num_rows < MIN_ROWS:
            raise InvalidInput(
                f"window {side} ({window.describe()}) has {table.num_rows} rows; "
                f"at least {MIN_ROWS} are needed"
            )
        return table

    def _embedding(self, req: DriftRequest) -> dict[str, Any]:
        a, b = self._need(req, "a", "b")
        if self.embed is None:
            raise Unavailable("no embedder is configured here; embedding drift needs one")
        ta = self._read(a, (req.column,), "a")
        tb = self._read(b, (req.column,), "b")
        va = self._vectors(ta.column(0).to_pylist(), req.sample, req.seed)
        vb = self._vectors(tb.column(0).to_pylist(), req.sample, req.seed + 1)
        return embedding_report(va, vb, req.thresholds, req.seed)

    def _vectors(self, texts: list[Any], sample: int, seed: int) -> np.ndarray:
        texts = [t for t in texts if isinstance(t, str) and t.strip()]
        if len(texts) < MIN_ROWS:
            raise InvalidInput(f"fewer than {MIN_ROWS} non-empty texts in a window")
        picked = [texts[i] for i in sample_rows(len(texts), sample, seed)]
        assert self.embed is not None
        return np.asarray(self.embed(picked), dtype=np.float32)

    def _verdict(self, req: DriftRequest) -> dict[str, Any]:
        a, b = self._need(req, "a", "b")
        columns = ("status", "error_classes")
        return verdict_report(
            self._read(a, columns, "a"), self._read(b, columns, "b"), req.thresholds
        )

    def _playbook(self, req: DriftRequest) -> dict[str, Any]:
        (b,) = self._need(req, "b")
        records = self._records(req.corpus)
        now = self._roster(b)
        then = self._roster(req.a) if req.a is not None else None
        return playbook_report(records, now, then, req.thresholds)

    def _records(self, corpus: str) -> list[dict[str, Any]]:
        keys = [o.key for o in self.store.iter_all(f"playbooks/{corpus}/")]
        if not keys:
            raise NotFound(f"no playbook records for corpus {corpus!r}")
        return [json.loads(self.store.get(k)) for k in keys]

    def _roster(self, window: Window) -> dict[str, str]:
        table = read_window(window, self.manifests, self.store.local_path, self.roster_columns)
        ids, roles = (table.column(i).to_pylist() for i in range(2))
        return {str(i): str(r) for i, r in zip(ids, roles, strict=True)}

    def _baseline(self, req: DriftRequest) -> dict[str, Any]:
        (b,) = self._need(req, "b")
        if req.baseline is None:
            raise InvalidInput("a baseline report needs the baseline's name", field="baseline")
        base = self.baseline(req.baseline)
        now = figures(self._read(b, FIGURE_COLUMNS, "b"))
        return baseline_report(now, base["figures"], req.thresholds)

    def baseline(self, name: str) -> dict[str, Any]:
        try:
            return json.loads(self.store.get(f"{BASELINES_PREFIX}{name}.json"))
        except NotFound:
            raise NotFound(f"no baseline named {name!r}; save one first") from None

    def save_baseline(self, name: str, window: Window) -> dict[str, Any]:
        """Compute ``window``'s figures and save them as baseline ``name`` (replacing it)."""
        found = figures(self._read(window, FIGURE_COLUMNS, "window"))
        saved = {"name": name, "window": window.model_dump(mode="json"), "figures": found,
                 "saved_at": datetime.now(UTC).isoformat(timespec="seconds")}  # fmt: skip
        self.store.put(f"{BASELINES_PREFIX}{name}.json", json.dumps(saved).encode())
        return saved
