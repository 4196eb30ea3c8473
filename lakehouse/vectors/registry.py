"""Corpora: named collections of vector shards, defined once, persisted in the store.

``corpora/<corpus>.json`` holds the definition (dim, space, shard count, index
parameters, the profile: see ``profile.py``); the shards live under
``vectors/<corpus>/<shard:03d>/``. Creating the same definition twice is idempotent; a
different one under a taken name is a ``Conflict``.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import asdict, dataclass
from typing import Any, Literal

from lakehouse.catalog.manifest import validate_dataset_name
from lakehouse.errors import Conflict, InvalidInput, NotFound
from lakehouse.storage import ObjectStore
from lakehouse.vectors.persist import ShardStorage
from lakehouse.vectors.profile import STAFFING, CorpusProfile
from lakehouse.vectors.shard import ShardConfig

log = logging.getLogger(__name__)

MAX_SHARDS = 64


@dataclass(frozen=True)
class Corpus:
    name: str
    dim: int
    space: Literal["cosine", "l2", "ip"]
    shards: int
    M: int = 16
    ef_construction: int = 200
    ef_search: int = 64
    profile: CorpusProfile = STAFFING

    def shard_config(self) -> ShardConfig:
        return ShardConfig(
            dim=self.dim,
            space=self.space,
            M=self.M,
            ef_construction=self.ef_construction,
            ef_search=self.ef_search,
        )

    def shard_prefix(self, index: int) -> str:
        return f"vectors/{self.name}/{index:03d}"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "profile": self.profile.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Corpus:
        """A stored definition (one written before profiles existed gets the default)."""
        return cls(**{**data, "profile": CorpusProfile.from_dict(data.get("profile"))})


def make_corpus(
    name: str,
    dim: int,
    space: str = "cosine",
    shards: int = 1,
    profile: CorpusProfile | None = None,
    **params: Any,
) -> Corpus:
    validate_dataset_name(name)
    if not 1 <= dim <= 8192:
        raise InvalidInput("dim must be in 1..8192", field="dim")
    if space not in ("cosine", "l2", "ip"):
        raise InvalidInput("space must be cosine, l2 or ip", field="space")
    if not 1 <= shards <= MAX_SHARDS:
        raise InvalidInput(f"shards must be in 1..{MAX_SHARDS}", field="shards")
    profile = (profile or STAFFING).check()
    return Corpus(name=name, dim=dim, space=space, shards=shards, profile=profile, **params)  # type: ignore[arg-type]


def corpus_key(name: str) -> str:
    return f"corpora/{name}.json"


def read_corpus(store: ObjectStore, key: str) -> Corpus:
    """A stored definition, with the same checks as a new one: a forged object cannot pass
    as a corpus (``NotFound`` if absent; any other error if unreadable)."""
    stored = Corpus.from_dict(json.loads(store.get(key)))
    return make_corpus(**{**asdict(stored), "profile": stored.profile})


class CorpusRegistry:
    """The single writer of corpus definitions."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._corpora: dict[str, Corpus] = {}
        self.load_errors: list[str] = []
        for obj in store.iter_all("corpora/"):
            if obj.key.endswith(".json"):
                self._load_one(obj.key)

    def _load_one(self, key: str) -> None:
        """One corpus definition; an unreadable one is reported and skipped, never a crash."""
        try:
            corpus = read_corpus(self.store, key)
        except NotFound:
            return
        except Exception as exc:  # any shape a forged or truncated object can take
            self.load_errors.append(f"{key}: unreadable corpus definition ({type(exc).__name__})")
            log.warning("%s", self.load_errors[-1])
            return
        self._corpora[corpus.name] = corpus

    def create(self, corpus: Corpus) -> tuple[Corpus, bool]:
        """``(corpus, created)``; the same definition again is ``created=False``."""
        with self._lock:
            existing = self._corpora.get(corpus.name)
            if existing is not None:
                if existing != corpus:
                    raise Conflict(f"corpus {corpus.name!r} exists with another definition")
                return existing, False
            key = corpus_key(corpus.name)
            self.store.put(key, json.dumps(corpus.to_dict()).encode())
            self._corpora[corpus.name] = corpus
            return corpus, True

    def get(self, name: str) -> Corpus:
        with self._lock:
            found = self._corpora.get(name)
        if found is None:
            raise NotFound(f"corpus {name!r} not found")
        return found

    def list(self) -> list[Corpus]:
        with self._lock:
            return [self._corpora[n] for n in sorted(self._corpora)]

    def delete(self, name: str) -> Corpus:
        """Forget the corpus and remove its definition and every shard's data."""
        with self._lock:
            corpus = self._corpora.get(name)
            if corpus is None:
                raise NotFound(f"corpus {name!r} not found")
            self.store.delete(corpus_key(name))
            del self._corpora[name]
        for index in range(corpus.shards):
            ShardStorage(self.store, corpus.shard_prefix(index)).destroy()
        return corpus
