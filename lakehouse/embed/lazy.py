"""An embedder opened on first use, so a server starts before a model is exported."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from lakehouse.embed.base import Embedder
from lakehouse.embed.config import EmbedConfig
from lakehouse.embed.factory import open_embedder


class LazyEmbedder:
    """Looks like an ``Embedder``; the real one is opened (once) by the first call."""

    def __init__(self, config: EmbedConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._embedder: Embedder | None = None

    def get(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                self._embedder = open_embedder(self.config)
            return self._embedder

    @property
    def name(self) -> str:
        return self.get().name

    @property
    def dim(self) -> int:
        return self.get().dim

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self.get().embed_documents(texts)

    def embed_query(self, texts: Sequence[str]) -> np.ndarray:
        return self.get().embed_query(texts)
