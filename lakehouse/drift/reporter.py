"""The drift reporter: reads the windows a request names and runs the report of its kind.

Reports only read; the one write is ``save_baseline`` (``drift/baselines/<name>.json``).
Every input problem is raised before anything is computed: a missing window (400), a
window or dataset the catalog does not hold or a baseline never saved (404), a side with
fewer than ``MIN_ROWS`` rows (400). A malformed object under a prefix the service owns (a
playbook record, a baseline) is reported and skipped, never a 500: the playbook report
names it in ``skipped_records``, the baseline list in ``skipped``, and asking for a
malformed baseline by name is a 404 that says so.
"""

from __future__ import annotations

import json
import logging
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
from lakehouse.matrix.playbook import read_audit_records
from lakehouse.storage.base import ObjectStore

log = logging.getLogger(__name__)
Search = Callable[[str, str, int], list[str]]

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
        search: ``(corpus, query, k) -> ids`` (retrieval without the playbook), or None;
            the playbook report's rank check needs it.
    """

    def __init__(
        self, store: ObjectStore, manifests: Mapping[str, Manifest], embed: EmbedFn | None = None,
        roster_columns: tuple[str, str] = ("worker_id", "role"), search: Search | None = None,
    ) -> None:  # fmt: skip
        self.store, self.manifests, self.embed = store, manifests, embed
        self.roster_columns, self.search = roster_columns, search

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
        if req.rank_corpus is not None and self.search is None:
            raise Unavailable("no matrix search is configured here; the rank check needs one")
        records, skipped = self._records(req.corpus)
        now = self._roster(b)
        then = self._roster(req.a) if req.a is not None else None
        ranked = self._ranked(records, req) if req.rank_corpus is not None else None
        out = playbook_report(records, now, then, req.thresholds, ranked)
        out["statistics"]["skipped_records"] = skipped
        return out

    def _records(self, corpus: str) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
        keys = sorted(o.key for o in self.store.iter_all(f"playbooks/{corpus}/"))
        if not keys:
            raise NotFound(f"no playbook records for corpus {corpus!r}")
        return read_audit_records(self.store, keys)

    def _ranked(self, records: list[dict[str, Any]], req: DriftRequest) -> dict[str, list[str]]:
        """What retrieval returns now for the newest ``sample`` distinct success queries."""
        queries = [r["query"] for r in records if r.get("outcome") == "success"]
        newest = list(dict.fromkeys(reversed(queries)))[: req.sample]  # keys sort by time
        assert self.search is not None and req.rank_corpus is not None
        return {q: self.search(req.rank_corpus, q, req.rank_k) for q in newest}

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
        """Saved baseline ``name``; ``NotFound`` if never saved or malformed (logged)."""
        key = f"{BASELINES_PREFIX}{name}.json"
        try:
            return checked_baseline(self.store.get(key))
        except NotFound:
            raise NotFound(f"no baseline named {name!r}; save one first") from None
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("baseline %s unreadable (%s); skipped", key, exc)
            raise NotFound(
                f"baseline {name!r} is unreadable ({type(exc).__name__}) and was skipped; "
                "save it again",
                key=key,
            ) from None

    def baselines(self) -> dict[str, Any]:
        """Every saved baseline (name, window, saved_at), and ``[{key, reason}]`` for each
        object that could not be read."""
        found, skipped = [], []
        for obj in sorted(self.store.iter_all(BASELINES_PREFIX), key=lambda o: o.key):
            try:
                base = checked_baseline(self.store.get(obj.key))
            except NotFound:
                continue  # deleted since the listing
            except (ValueError, TypeError, KeyError) as exc:
                log.warning("baseline %s unreadable (%s); skipped", obj.key, exc)
                skipped.append({"key": obj.key, "reason": f"unreadable ({type(exc).__name__})"})
                continue
            found.append({k: base.get(k) for k in ("name", "window", "saved_at")})
        return {"baselines": found, "skipped": skipped}

    def save_baseline(self, name: str, window: Window) -> dict[str, Any]:
        """Compute ``window``'s figures and save them as baseline ``name`` (replacing it)."""
        found = figures(self._read(window, FIGURE_COLUMNS, "window"))
        saved = {"name": name, "window": window.model_dump(mode="json"), "figures": found,
                 "saved_at": datetime.now(UTC).isoformat(timespec="seconds")}  # fmt: skip
        self.store.put(f"{BASELINES_PREFIX}{name}.json", json.dumps(saved).encode())
        return saved


_FIGURES = ("n", "accepted_rate", "first_shot_rate", "grounded_rate", "mean_attempts",
            "p50_latency_ms")  # fmt: skip


def checked_baseline(data: bytes) -> dict[str, Any]:
    """A baseline object, checked for what the baseline report computes with."""
    base = json.loads(data)
    if not isinstance(base, dict) or not isinstance(base["name"], str):
        raise TypeError("not a baseline object")
    figures = base["figures"]
    if not isinstance(figures, dict):
        raise TypeError("figures is not an object")
    for name in _FIGURES:
        value = figures.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise TypeError(f"figure {name} is not a number")
    return base
