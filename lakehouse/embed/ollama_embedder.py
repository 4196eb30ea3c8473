"""Embeddings from an Ollama server through the official ``ollama`` client (``/api/embed``).

Errors (the same mapping as the chat providers, ``lakehouse.chat.base``):

- server unreachable, or its 429/503           -> ``Unavailable`` (503), naming the host
- timed out                                    -> ``GatewayTimeout`` (504)
- the model is not pulled on the server (404)  -> ``NotFound`` (404), saying what to pull
- any other failure, or a malformed reply      -> ``BadGateway`` (502)

Unreachable, connect timeouts, 429 and 5xx are retried with capped, jittered back-off; a
read timeout is not (a batch too slow once is slow again).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import httpx
import numpy as np
import ollama
import pydantic

from lakehouse.chat.base import RetryPolicy, Transient, error_for_status, with_retries
from lakehouse.embed.base import Embedder, Kind
from lakehouse.embed.config import EmbedConfig
from lakehouse.errors import (
    BadGateway,
    GatewayTimeout,
    NotFound,
    TemporarilyUnavailable,
)

# Widths of well-known embedding models, so ``dim`` needs no round trip.
KNOWN_DIMS = {"nomic-embed-text": 768, "mxbai-embed-large": 1024, "all-minilm": 384}
# (query prefix, document prefix): the task instructions these models were trained with.
PREFIXES = {
    "nomic-embed-text": ("search_query: ", "search_document: "),
    "mxbai-embed-large": ("Represent this sentence for searching relevant passages: ", ""),
}


class OllamaEmbedder(Embedder):
    """One embedding model on one Ollama host; texts go in batches of ``batch_size``.

    Texts longer than the model's context are truncated by the server (``truncate``).

    Args:
        model: the Ollama model name, a ``:tag`` allowed (``nomic-embed-text:v1.5``).
        host: the server, e.g. ``http://127.0.0.1:11434``.
        batch_size: texts per ``/api/embed`` request.
        timeout_s: read timeout of one request; connect_timeout_s: of the connection.
        retry: how transient failures are retried.
        dim: the model's width; ``None``: known models' own, else asked on first use.
        query_prefix, document_prefix: ``None``: the model's own (see ``PREFIXES``).
        sleep: the back-off sleep (tests pass a no-op).
    """

    def __init__(
        self,
        model: str,
        host: str,
        *,
        batch_size: int = 32,
        timeout_s: float = 60.0,
        connect_timeout_s: float = 5.0,
        retry: RetryPolicy | None = None,
        dim: int | None = None,
        query_prefix: str | None = None,
        document_prefix: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.name, self.host, self.batch_size = model, host, batch_size
        self.retry, self.timeout_s, self._sleep = retry or RetryPolicy(), timeout_s, sleep
        base = model.split(":", 1)[0].split("/")[-1]
        self._dim = dim or KNOWN_DIMS.get(base)
        own = PREFIXES.get(base, ("", ""))
        self.prefixes: dict[Kind, str] = {
            "query": own[0] if query_prefix is None else query_prefix,
            "document": own[1] if document_prefix is None else document_prefix,
        }
        timeout = httpx.Timeout(timeout_s, connect=connect_timeout_s)
        self._client = ollama.Client(host=host, timeout=timeout)
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config: EmbedConfig) -> OllamaEmbedder:
        retry = RetryPolicy(config.max_retries, config.backoff_s, config.backoff_max_s)
        return cls(
            config.model_name or "", config.ollama_host, batch_size=config.batch,
            timeout_s=config.timeout_s, connect_timeout_s=config.connect_timeout_s,
            retry=retry, dim=config.dim, query_prefix=config.query_prefix,
            document_prefix=config.document_prefix,
        )  # fmt: skip

    @property
    def dim(self) -> int:
        """The model's width; an unknown model is asked once (one tiny embed request)."""
        if self._dim is None:
            self._request(["dimension probe"])
        assert self._dim is not None  # set by the first good reply
        return self._dim

    def close(self) -> None:
        self._client.close()

    def _embed(self, texts: list[str], kind: Kind) -> np.ndarray:
        prefix = self.prefixes[kind]
        items = [prefix + text for text in texts] if prefix else texts
        size = self.batch_size
        parts = [self._request(items[i : i + size]) for i in range(0, len(items), size)]
        return np.concatenate(parts)

    def _request(self, items: list[str]) -> np.ndarray:
        response, _ = with_retries(lambda: self._once(items), self.retry, self._sleep)
        return self._vectors(response.embeddings, len(items))

    def _once(self, items: list[str]) -> ollama.EmbedResponse:
        try:
            return self._client.embed(model=self.name, input=items, truncate=True)
        except ollama.ResponseError as exc:
            raise self._for_status(exc.status_code, str(exc.error)) from exc
        except ConnectionError as exc:  # the client's name for httpx.ConnectError
            raise Transient(
                TemporarilyUnavailable(f"Ollama is unreachable at {self.host}")
            ) from exc
        except httpx.ConnectTimeout as exc:
            message = f"Ollama at {self.host} did not accept a connection in time"
            raise Transient(GatewayTimeout(message)) from exc
        except httpx.TimeoutException as exc:
            message = f"Ollama at {self.host} did not answer within {self.timeout_s:g} s"
            raise GatewayTimeout(message) from exc
        except httpx.TransportError as exc:  # dropped connection, protocol error
            message = f"Ollama at {self.host} dropped the connection: {type(exc).__name__}"
            raise Transient(TemporarilyUnavailable(message)) from exc
        except pydantic.ValidationError as exc:
            raise BadGateway(f"Ollama at {self.host} sent a malformed embed reply") from exc

    def _for_status(self, status: int, detail: str) -> Exception:
        if status == 404:
            return NotFound(
                f"embedding model {self.name!r} is not on the Ollama server at {self.host}; "
                f"pull it there with `ollama pull {self.name}`"
            )
        return error_for_status(f"Ollama at {self.host}", status, detail, None)

    def _vectors(self, embeddings: object, expected: int) -> np.ndarray:
        where = f"Ollama at {self.host} ({self.name})"
        rows = list(embeddings) if isinstance(embeddings, list | tuple) else []
        if len(rows) != expected:
            raise BadGateway(f"{where} returned {len(rows)} vectors for {expected} texts")
        try:
            out = np.asarray(rows, dtype=np.float32)
        except (TypeError, ValueError) as exc:  # ragged rows or non-numbers
            raise BadGateway(f"{where} returned vectors of unequal widths") from exc
        if out.ndim != 2 or out.shape[1] == 0 or not np.isfinite(out).all():
            raise BadGateway(f"{where} returned empty or non-finite vectors")
        with self._lock:
            if self._dim is None:
                self._dim = out.shape[1]
        if out.shape[1] != self._dim:
            raise BadGateway(f"{where} returned {out.shape[1]}-d vectors, expected {self._dim}")
        return out
