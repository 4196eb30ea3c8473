"""Route groups for retrieval: embeddings, vector corpora, matrix search and playbooks.

Vectors go up packed (base64 little-endian float32, see ``lakehouse.vectors.packed``) unless
the client was made with ``binary=False``; vectors come back as numpy arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal
from urllib.parse import quote

import numpy as np

from lakehouse.client.calls import Call, parse_json
from lakehouse.client.groups import Group, drop_none
from lakehouse.vectors import packed

Space = Literal["cosine", "l2", "ip"]


class Embed(Group):
    """``/v1/embed``: texts → unit vectors with the server's embedder."""

    def texts(self, texts: Sequence[str], kind: str = "document") -> np.ndarray:
        """An ``(n, dim)`` float32 array; ``kind`` is ``document`` or ``query``."""
        encoding = packed.ENCODING if self._binary else "json"
        body = {"texts": list(texts), "kind": kind, "encoding": encoding}
        parse = lambda r: packed.from_response(parse_json(r)["vectors"])  # noqa: E731
        return self._send(Call("POST", "/v1/embed", json=body, parse=parse))


class Vectors(Group):
    """``/v1/vectors/corpora``: create, list, drop, add, search and delete."""

    def create(self, name: str, dim: int, space: Space = "cosine", shards: int = 1) -> dict:
        """Create a corpus (idempotent; another definition under the name is a ``Conflict``)."""
        body = {"name": name, "dim": dim, "space": space, "shards": shards}
        return self._send(Call("POST", "/v1/vectors/corpora", json=body))

    def list(self) -> list[dict[str, Any]]:
        parse = lambda r: parse_json(r)["corpora"]  # noqa: E731
        return self._send(Call("GET", "/v1/vectors/corpora", parse=parse))

    def drop(self, name: str) -> None:
        call = Call("DELETE", f"/v1/vectors/corpora/{quote(name)}", parse=lambda r: None)
        return self._send(call)

    def add(
        self,
        name: str,
        ids: Sequence[str],
        vectors: Any = None,
        texts: Sequence[str] | None = None,
        metadata: Sequence[dict[str, Any] | None] | None = None,
    ) -> int:
        """Add or replace ``ids`` with ``vectors`` (any ``(n, dim)`` array-like) or with
        ``texts`` embedded by the server. Returns how many were added."""
        body = drop_none(
            ids=list(ids),
            vectors=None if vectors is None else self._pack(vectors, 2),
            texts=None if texts is None else list(texts),
            metadata=None if metadata is None else list(metadata),
        )
        path = f"/v1/vectors/corpora/{quote(name)}/add"
        return self._send(Call("POST", path, json=body, parse=lambda r: parse_json(r)["added"]))

    def search(
        self,
        name: str,
        vector: Any = None,
        text: str | None = None,
        k: int = 10,
        ef: int | None = None,
        filter: dict[str, Any] | None = None,
        exclude_ids: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """The ``k`` nearest: ``{"hits": [{"id", "score", "metadata"}], "complete": bool}``."""
        body = drop_none(
            vector=None if vector is None else self._pack(vector, 1),
            text=text,
            k=k,
            ef=ef,
            filter=filter,
            exclude_ids=None if exclude_ids is None else list(exclude_ids),
        )
        return self._send(Call("POST", f"/v1/vectors/corpora/{quote(name)}/search", json=body))

    def delete(self, name: str, ids: Sequence[str]) -> int:
        path = f"/v1/vectors/corpora/{quote(name)}/delete"
        parse = lambda r: parse_json(r)["deleted"]  # noqa: E731
        return self._send(Call("POST", path, json={"ids": list(ids)}, parse=parse))

    def _pack(self, vectors: Any, ndim: int) -> Any:
        array = np.asarray(vectors, dtype=np.float32)
        if array.ndim != ndim:
            what = "one vector (1-d)" if ndim == 1 else "an (n, dim) array"
            raise ValueError(f"expected {what}, got shape {array.shape}")
        return packed.encode(array) if self._binary else array.tolist()


class Matrix(Group):
    """``/v1/matrix/search``: one query over several corpora, merged and explained."""

    def search(
        self,
        corpora: Sequence[str | tuple[str, float]],
        query: str | None = None,
        vector: Any = None,
        k: int = 10,
        **options: Any,
    ) -> dict[str, Any]:
        """Corpora are names or ``(name, weight)``; ``options`` are the route's other fields
        (``fusion``, ``filter``, ``sql_filter``, ``exclude_ids``, ``min_score``,
        ``use_playbook``, ``timeout_ms``)."""
        weighted = [c if isinstance(c, tuple) else (c, 1.0) for c in corpora]
        sent = None
        if vector is not None:
            array = np.asarray(vector, dtype=np.float32).reshape(-1)
            sent = packed.encode(array) if self._binary else array.tolist()
        body = drop_none(query=query, vector=sent, k=k, **options)
        body["corpora"] = [{"name": n, "weight": w} for n, w in weighted]
        return self._send(Call("POST", "/v1/matrix/search", json=body))


class Playbooks(Group):
    """``/v1/matrix/playbooks``: recorded outcomes that lift ids for similar queries."""

    def record(self, query: str, ids: Sequence[str], outcome: str, weight: float = 1.0) -> int:
        body = {"query": query, "ids": list(ids), "outcome": outcome, "weight": weight}
        call = Call("POST", "/v1/matrix/playbooks/record", json=body, idempotent=False)
        return self._send(_recorded(call))

    def record_many(self, records: Sequence[dict[str, Any]]) -> int:
        """All or nothing: each record is ``{"query", "ids", "outcome", "weight"?}``."""
        body = {"records": list(records)}
        call = Call("POST", "/v1/matrix/playbooks/record/bulk", json=body, idempotent=False)
        return self._send(_recorded(call))

    def list(self, limit: int = 100) -> list[dict[str, Any]]:
        parse = lambda r: parse_json(r)["records"]  # noqa: E731
        return self._send(Call("GET", "/v1/matrix/playbooks", params={"limit": limit}, parse=parse))


def _recorded(call: Call) -> Call:
    call.parse = lambda r: parse_json(r)["recorded"]
    return call
