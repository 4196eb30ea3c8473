"""What both clients share: settings, headers, and the route groups bound to a sender."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import tenacity

from lakehouse.client import calls
from lakehouse.client.data import Catalog, Ingest, Sql, Storage
from lakehouse.client.learning import Distill, Drift
from lakehouse.client.llm import Chat, Iterate, Validate
from lakehouse.client.memory import Observer, Pathway
from lakehouse.client.retrieval import Embed, Matrix, Playbooks, Vectors

DEFAULT_URL = "http://127.0.0.1:8000"


@dataclass(frozen=True)
class Options:
    """How a client talks to the server.

    Attributes:
        token: bearer token (``Authorization: Bearer ...``), if the server wants one.
        trace_id: sent as ``X-Lakehouse-Trace-Id`` on every request (else the server mints
            one per request; ``last_trace_id`` holds the latest answer's).
        retries: attempts after the first, on 503 (but a configuration one, code
            ``unavailable``) and on connection failures.
        backoff_s: first wait between attempts; doubles up to ``backoff_max_s``, with jitter;
            a longer ``Retry-After`` from the server wins, capped at ``backoff_max_s`` too.
        binary: send vectors packed as base64 float32 (False: JSON floats).
    """

    token: str | None = None
    trace_id: str | None = None
    timeout_s: float = 60.0
    retries: int = 3
    backoff_s: float = 0.1
    backoff_max_s: float = 2.0
    binary: bool = True

    def headers(self) -> dict[str, str]:
        headers = {"user-agent": "lakehouse-client"}
        if self.token:
            headers["authorization"] = f"Bearer {self.token}"
        if self.trace_id:
            headers[calls.TRACE_HEADER] = self.trace_id
        return headers

    def retrying(self, kind: type[Any], idempotent: bool) -> Any:
        """A tenacity ``Retrying`` (or ``AsyncRetrying``): bounded attempts, exponential
        back-off with jitter. Built once per client: tenacity keeps per-thread state."""
        probe = calls.Call("GET", "/", idempotent=idempotent)
        backoff = tenacity.wait_exponential_jitter(
            multiplier=self.backoff_s, max=self.backoff_max_s, jitter=self.backoff_s
        )

        def wait(state: tenacity.RetryCallState) -> float:
            """The back-off, or the server's ``Retry-After`` if longer (capped alike)."""
            failed = state.outcome.exception() if state.outcome else None
            hinted = getattr(failed, "retry_after_s", None) or 0.0
            return min(self.backoff_max_s, max(backoff(state), hinted))

        return kind(
            stop=tenacity.stop_after_attempt(self.retries + 1),
            wait=wait,
            retry=tenacity.retry_if_exception(lambda exc: calls.retryable(probe, exc)),
            reraise=True,
        )


class Routes:
    """The route groups, each sending through ``send``."""

    _retry_kind: type[Any] = tenacity.Retrying

    def _bind(self, send: Callable[[calls.Call], Any], options: Options) -> None:
        self.options = options
        self._retrying = {i: options.retrying(self._retry_kind, i) for i in (True, False)}
        self.last_trace_id: str | None = None
        binary = options.binary
        self.storage = Storage(send, binary)
        self.catalog = Catalog(send, binary)
        self.ingest = Ingest(send, binary)
        self.sql = Sql(send, binary)
        self.embed = Embed(send, binary)
        self.vectors = Vectors(send, binary)
        self.matrix = Matrix(send, binary)
        self.playbooks = Playbooks(send, binary)
        self.pathway = Pathway(send, binary)
        self.observer = Observer(send, binary)
        self.validate = Validate(send, binary)
        self.iterate = Iterate(send, binary)
        self.chat = Chat(send, binary)
        self.distill = Distill(send, binary)
        self.drift = Drift(send, binary)

    def _request_args(self, call: calls.Call) -> dict[str, Any]:
        content, headers = call.body()
        return {
            "method": call.method,
            "url": call.path,
            "params": call.query(),
            "content": content,
            "headers": headers,
        }

    def _seen(self, response: Any) -> None:
        self.last_trace_id = response.headers.get(calls.TRACE_HEADER)

    def with_options(self, **changes: Any) -> Any:
        """A client on the same connection pool with some options changed, e.g.
        ``client.with_options(trace_id="job-42")`` (closing it leaves the pool open)."""
        clone = copy.copy(self)
        clone._owned = False
        clone._bind(clone._send, replace(self.options, **changes))
        return clone
