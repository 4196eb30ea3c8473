"""The playbook: recorded outcomes that boost or demote ids for similar queries.

A record is ``{query, ids, outcome: success|failure, weight, who, when}``. It is stored
twice, audit first: as a JSON object under ``playbooks/<corpus>/`` (the listable audit
trail, newest first) and as the query's embedding in the playbook corpus (``_playbook``),
a corpus like any other (durable shards, snapshot + log), with the record as metadata.

For a new query the playbook corpus is searched for similar recorded queries; a record
whose cosine similarity is at least ``similarity_threshold`` adds, to each of its ids,

    sign(outcome) * weight * similarity * 0.5 ** (age / half_life)

and the sum per id is clipped to [-1, 1]. The records that count are the ``max_similar``
whose terms weigh most, so among equally similar records the newest count (identical query
texts tie at similarity 1). The corpus keeps one vector per (query, ids): a later record of
the same query and ids supersedes the earlier one in the ranking (its outcome, weight and
age), and the audit trail keeps both. The ranking adds ``strength * boost * top``
(``top``: the best fused score of the candidates), so a full-strength success lifts an id to
the top and a full-strength failure sinks it to the bottom, whatever the fusion's scale.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from lakehouse.errors import InvalidInput, NotFound
from lakehouse.storage import ObjectStore
from lakehouse.vectors.api import ABSENT, Generation, VectorRouterApi
from lakehouse.vectors.checks import MAX_ID_CHARS
from lakehouse.vectors.registry import make_corpus

log = logging.getLogger(__name__)

OUTCOMES = {"success": 1.0, "failure": -1.0}
MAX_IDS = 100
MAX_QUERY_CHARS = 2000
MAX_RECORD_CHARS = 12_000  # the record is the vector's metadata (16 KiB at most)
DAY_S = 86_400.0


@dataclass(frozen=True)
class PlaybookConfig:
    """Where records live and how strongly and how long they count."""

    corpus: str = "_playbook"
    half_life_days: float = 30.0
    similarity_threshold: float = 0.75
    strength: float = 1.0
    max_similar: int = 64  # records that count per search
    max_fetch: int = 1000  # records read when more than max_similar clear it (max k)


@dataclass(frozen=True)
class Record:
    query: str
    ids: tuple[str, ...]
    outcome: str
    weight: float = 1.0

    @property
    def key(self) -> str:
        """The record's vector id: one per query text and set of ids."""
        text = json.dumps([self.query, sorted(self.ids)], ensure_ascii=False)
        return "pb-" + hashlib.sha256(text.encode()).hexdigest()[:32]

    def check(self) -> Record:
        if not isinstance(self.query, str) or not self.query.strip():
            raise InvalidInput("a record needs a non-empty query", field="query")
        if len(self.query) > MAX_QUERY_CHARS:
            raise InvalidInput(f"query is longer than {MAX_QUERY_CHARS} characters")
        if not 1 <= len(self.ids) <= MAX_IDS or len(set(self.ids)) != len(self.ids):
            raise InvalidInput(f"ids must be 1..{MAX_IDS} distinct ids", field="ids")
        if any(not isinstance(i, str) or not 0 < len(i) <= MAX_ID_CHARS for i in self.ids):
            raise InvalidInput(f"every id must be a string of 1-{MAX_ID_CHARS} characters")
        if len(json.dumps(self.ids)) + len(self.query) > MAX_RECORD_CHARS:
            raise InvalidInput(f"a record's query and ids exceed {MAX_RECORD_CHARS} characters")
        if self.outcome not in OUTCOMES:
            raise InvalidInput("outcome must be success or failure", field="outcome")
        if not 0 < self.weight <= 10:
            raise InvalidInput("weight must be in (0, 10]", field="weight")
        return self


class Playbook:
    """Records outcomes through a corpus router and an object store; computes boosts.

    Args:
        router: the corpora (``VectorRouterApi``); records live in ``config.corpus``.
        store: the object store (the audit trail).
        config: corpus name, half-life, similarity threshold, strength.
        clock: seconds since the epoch (injected by tests to age records).
    """

    def __init__(
        self, router: VectorRouterApi, store: ObjectStore, config: PlaybookConfig | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:  # fmt: skip
        self.router, self.store = router, store
        self.config = config or PlaybookConfig()
        self.clock = clock

    async def record(self, records: Sequence[Record], vectors: Any, who: str) -> list[dict]:
        """Check every record, write the audit objects, then the vectors; returns them."""
        checked = [r.check() for r in records]
        if not checked or len(vectors) != len(checked):
            raise InvalidInput("one query vector per record is needed", field="records")
        # idempotent, and cheap next to a record; asked every time, as another replica may
        # have deleted the corpus since
        corpus = make_corpus(self.config.corpus, len(vectors[0]), "cosine")
        await self.router.registry.create(corpus)
        now = self.clock()
        rows = [self._row(r, who, now, n) for n, r in enumerate(checked)]
        await asyncio.to_thread(self._write_audit, rows)
        last = list({row["key"]: n for n, row in enumerate(rows)}.values())  # the later wins
        metas = [dict(rows[n]) for n in last]
        picked = np.asarray(vectors, dtype=np.float32)[last]
        await self.router.add(self.config.corpus, [m["key"] for m in metas], picked, metas)
        return rows

    def _row(self, record: Record, who: str, now: float, n: int) -> dict[str, Any]:
        stamp = int(now * 1000)
        return {
            "record_id": f"{stamp:015d}-{n:04d}-{uuid.uuid4().hex[:12]}",
            "key": record.key,
            "query": record.query,
            "ids": list(record.ids),
            "outcome": record.outcome,
            "weight": float(record.weight),
            "who": who,
            "when": datetime.fromtimestamp(now, UTC).isoformat(),
            "when_ts": now,
        }

    def _write_audit(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            self.store.put(self._key(row["record_id"]), json.dumps(row).encode())

    def _key(self, record_id: str) -> str:
        return f"playbooks/{self.config.corpus}/{record_id}.json"

    async def boosts(self, vector: Any) -> tuple[dict[str, dict[str, Any]], Generation]:
        """``{id: {"boost": b in [-1, 1], "records": [record ids]}}`` for a query vector,
        and the generation of the records they come from."""
        try:
            found = await self._similar(vector)
        except NotFound:  # nothing recorded yet
            return {}, ABSENT
        terms = sorted(self._terms(found["hits"]), key=lambda t: -abs(t[0]))
        out: dict[str, dict[str, Any]] = {}
        for part, record_id, ids in terms[: self.config.max_similar]:
            for item in ids:
                entry = out.setdefault(item, {"boost": 0.0, "records": []})
                entry["boost"] += part
                entry["records"].append(record_id)
        for entry in out.values():
            entry["boost"] = max(-1.0, min(1.0, entry["boost"]))
        return out, found["generation"]

    async def _similar(self, vector: Any) -> dict[str, Any]:
        """The ``max_similar`` most similar records; more (up to ``max_fetch``) when all of
        them clear the threshold, as the newest may tie with those and lie beyond."""
        k = self.config.max_similar
        found = await self.router.search(self.config.corpus, vector, k)
        hits, wider = found["hits"], self.config.max_fetch
        saturated = len(hits) == k and float(hits[-1]["score"]) >= self.config.similarity_threshold
        if saturated and wider > k:
            found = await self.router.search(self.config.corpus, vector, wider)
        return found

    def _terms(self, hits: list[dict[str, Any]]) -> Iterable[tuple[float, str, list[str]]]:
        """``(signed term, record id, ids)`` of each hit that clears the threshold."""
        now, half_life = self.clock(), self.config.half_life_days * DAY_S
        for hit in hits:
            meta, similarity = hit.get("metadata") or {}, float(hit["score"])
            if similarity < self.config.similarity_threshold or meta.get("outcome") not in OUTCOMES:
                continue
            age = max(0.0, now - float(meta.get("when_ts", now)))
            part = OUTCOMES[meta["outcome"]] * float(meta.get("weight", 1.0)) * similarity
            part *= 0.5 ** (age / half_life) if half_life > 0 else 1.0
            yield part, meta.get("record_id", hit["id"]), meta.get("ids", [])

    def list(self, limit: int = 100) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
        """The newest ``limit`` readable records (record ids start with the time, so keys
        sort), and ``[{key, reason}]`` for each object among them that could not be read."""
        prefix = f"playbooks/{self.config.corpus}/"
        keys = sorted((o.key for o in self.store.iter_all(prefix)), reverse=True)[:limit]
        return read_audit_records(self.store, keys)


def read_audit_records(
    store: ObjectStore, keys: Iterable[str]
) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """The readable audit records among ``keys``, and ``[{key, reason}]`` for each object
    that could not be read (reported and skipped: a forged or torn object never fails a
    reader)."""
    records, skipped = [], []
    for key in keys:
        try:
            records.append(audit_record(store.get(key)))
        except NotFound:
            continue  # deleted since the listing
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("playbook record %s unreadable (%s); skipped", key, exc)
            skipped.append({"key": key, "reason": f"unreadable ({type(exc).__name__})"})
    return records, skipped


_AUDIT_FIELDS = {"record_id": str, "query": str, "ids": list, "outcome": str, "when": str}


def audit_record(data: bytes) -> dict[str, Any]:
    """One audit object, checked for the fields the list promises."""
    row = json.loads(data)
    if not isinstance(row, dict):
        raise TypeError("not a JSON object")
    for name, kind in _AUDIT_FIELDS.items():
        if not isinstance(row[name], kind):
            raise TypeError(f"{name} is not a {kind.__name__}")
    return row
