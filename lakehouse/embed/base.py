"""The one embedder interface every backend implements, and the input checks they share."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, Literal, Protocol

import numpy as np

from lakehouse.errors import InvalidInput

Kind = Literal["document", "query"]
KINDS: tuple[Kind, ...] = ("document", "query")


class TextEmbedder(Protocol):
    """What a caller needs of an embedder (an ``Embedder``, or a ``LazyEmbedder``)."""

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray: ...
    def embed_query(self, texts: Sequence[str]) -> np.ndarray: ...


class Embedder(ABC):
    """Turns texts into L2-normalised float32 vectors of one fixed width.

    Asymmetric models (nomic-embed-text) embed a search query differently from the
    documents it should find, so callers say which they have: ``embed_documents`` for what
    goes into an index, ``embed_query`` for what searches it. Symmetric models (MiniLM)
    treat both the same. ``embed`` is ``embed_documents`` unless told otherwise.

    Every method is safe to call from several threads at once.

    Attributes:
        name: the model's name, as replies and corpora record it.
        dim: the width of every vector.
    """

    name: str

    @property
    @abstractmethod
    def dim(self) -> int:
        """The width of every vector this embedder returns."""

    def embed(self, texts: Sequence[str], kind: Kind = "document") -> np.ndarray:
        """An ``(len(texts), dim)`` float32 array of unit rows, in the order of ``texts``.

        Raises:
            InvalidInput: ``texts`` is not a list of strings, or ``kind`` is unknown.
        """
        if kind not in KINDS:
            raise InvalidInput(f"kind must be one of {KINDS}, not {kind!r}")
        items = check_texts(texts)
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        return normalise(self._embed(items, kind))

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for texts that go into an index."""
        return self.embed(texts, "document")

    def embed_query(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for search queries against documents embedded with ``embed_documents``."""
        return self.embed(texts, "query")

    @abstractmethod
    def _embed(self, texts: list[str], kind: Kind) -> np.ndarray:
        """Raw vectors for a non-empty list of checked texts (normalised by the caller)."""

    def close(self) -> None:  # noqa: B027 - a no-op default, not an abstract method
        """Release threads and connections; the embedder is unusable afterwards."""

    def __enter__(self) -> Embedder:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def check_texts(texts: Any) -> list[str]:
    """``texts`` as a list, or ``InvalidInput`` naming the first bad item.

    A bare string is refused: it is a sequence of characters, and embedding each
    character separately is never what the caller meant.
    """
    if isinstance(texts, str | bytes) or not isinstance(texts, Sequence):
        raise InvalidInput(f"texts must be a list of strings, not {type(texts).__name__}")
    items = list(texts)
    for i, text in enumerate(items):
        if not isinstance(text, str):
            raise InvalidInput(f"texts[{i}] is {type(text).__name__}, not a string")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:  # lone surrogates from JSON "\ud800"
            raise InvalidInput(f"texts[{i}] is not valid Unicode: {exc.reason}") from None
    return items


def normalise(vectors: np.ndarray) -> np.ndarray:
    """``vectors`` as float32 with unit rows; an all-zero row stays zero."""
    out = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.maximum(norms, np.float32(1e-12))
