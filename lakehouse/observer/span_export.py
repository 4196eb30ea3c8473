"""Shipping observer events and workflow runs to a tracing backend; off by default.

``target="otlp"`` POSTs OTLP/HTTP JSON to ``{endpoint}/v1/traces``; ``target="langfuse"``
POSTs an ingestion batch to ``{endpoint}/api/public/ingestion`` with basic auth (public
key, secret key). An export never raises into the request that caused it: failures are
counted (``failures``) and logged without credentials.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from lakehouse.errors import InvalidInput
from lakehouse.observer.ring import Event
from lakehouse.observer.spans import Span, event_span, langfuse_body, otlp_body, run_spans

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExportConfig:
    """Where spans go. ``target="off"`` (the default) sends nothing.

    Attributes:
        target: ``"off"``, ``"otlp"`` or ``"langfuse"``.
        endpoint: base URL (``http(s)://host:port``); the path is added per target.
        public_key, secret_key: Langfuse basic-auth credentials.
        headers: extra headers, e.g. an OTLP collector's auth header.
        timeout_s: per-request timeout.
        service_name: OTLP ``service.name`` resource attribute.
        max_pending: spans queued by ``submit`` before the oldest are dropped.
        max_batch: spans per request.
    """

    target: Literal["off", "otlp", "langfuse"] = "off"
    endpoint: str = ""
    public_key: str = ""
    secret_key: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    timeout_s: float = 5.0
    service_name: str = "lakehouse"
    max_pending: int = 10_000
    max_batch: int = 500

    def __post_init__(self) -> None:
        if self.target not in ("off", "otlp", "langfuse"):
            raise InvalidInput(f"unknown export target {self.target!r}")
        if self.target != "off" and not self.endpoint.startswith(("http://", "https://")):
            raise InvalidInput("export endpoint must be an http:// or https:// URL")
        if self.target == "langfuse" and not (self.public_key and self.secret_key):
            raise InvalidInput("langfuse export needs a public key and a secret key")

    @property
    def url(self) -> str:
        path = "/v1/traces" if self.target == "otlp" else "/api/public/ingestion"
        return self.endpoint.rstrip("/") + path


class Exporter:
    """Sends spans now (``export_*``) or queues them for a background flush (``submit``)."""

    def __init__(self, config: ExportConfig, *, client: Any = None) -> None:
        self.config = config
        self._client = client
        self._lock = threading.Lock()
        self._pending: deque[Span] = deque(maxlen=config.max_pending)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.sent = 0
        self.failures = 0
        self.dropped = 0
        self.last_error: str | None = None

    @property
    def enabled(self) -> bool:
        return self.config.target != "off"

    def export_events(self, events: Sequence[Event]) -> bool:
        """Send ``events`` as spans now; True when the backend accepted all of them."""
        return self._send([event_span(ev) for ev in events])

    def export_run(self, run: Mapping[str, Any]) -> bool:
        """Send one workflow run (``RunResult.to_dict()``) as a span tree now."""
        return self._send(run_spans(run))

    def submit(
        self,
        events: Iterable[Event] = (),
        runs: Iterable[Mapping[str, Any]] = (),
        spans: Iterable[Span] = (),
    ) -> None:
        """Queue spans for the next ``flush``; when the queue is full the oldest are dropped.

        ``spans`` are ready-made (an iterate session's tree, a chat call).
        """
        if not self.enabled:
            return
        spans = (
            [event_span(ev) for ev in events] + [s for r in runs for s in run_spans(r)] + [*spans]
        )
        with self._lock:
            overflow = max(0, len(self._pending) + len(spans) - self.config.max_pending)
            self.dropped += overflow
            self._pending.extend(spans)

    def flush(self) -> bool:
        """Send everything queued, ``max_batch`` spans per request; False if any failed."""
        ok = True
        while True:
            with self._lock:
                n = min(len(self._pending), self.config.max_batch)
                batch = [self._pending.popleft() for _ in range(n)]
            if not batch:
                return ok
            ok = self._send(batch) and ok

    def start(self, interval_s: float = 2.0) -> None:
        """Flush every ``interval_s`` on a daemon thread until ``close``."""
        if not self.enabled or self._thread is not None:
            return
        self._thread = threading.Thread(
            target=self._loop, args=(interval_s,), name="observer-export", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.config.timeout_s + 1)
            self._thread = None
        self.flush()
        if self._client is not None:
            self._client.close()
            self._client = None

    def stats(self) -> dict[str, Any]:
        with self._lock:
            pending = len(self._pending)
        return {
            "target": self.config.target,
            "sent": self.sent,
            "failures": self.failures,
            "dropped": self.dropped,
            "pending": pending,
            "last_error": self.last_error,
        }

    def _loop(self, interval_s: float) -> None:
        while not self._stop.wait(interval_s):
            self.flush()

    def _send(self, spans: list[Span]) -> bool:
        if not self.enabled or not spans:
            return True
        cfg = self.config
        body = otlp_body(spans, cfg.service_name) if cfg.target == "otlp" else langfuse_body(spans)
        try:
            response = self._http().post(cfg.url, json=body, headers=dict(cfg.headers))
        except Exception as exc:  # any transport failure is counted, not raised
            return self._failed(len(spans), f"{type(exc).__name__} posting to {cfg.target}")
        if response.status_code >= 300:
            return self._failed(len(spans), f"{cfg.target} answered HTTP {response.status_code}")
        rejected = _rejected_items(response) if cfg.target == "langfuse" else 0
        if rejected:
            return self._failed(rejected, f"langfuse rejected {rejected} items")
        with self._lock:
            self.sent += len(spans)
        return True

    def _failed(self, count: int, why: str) -> bool:
        with self._lock:
            self.failures += count
            self.last_error = why
        log.warning("span export failed: %s (%d spans)", why, count)
        return False

    def _http(self) -> Any:
        if self._client is None:
            import httpx  # only needed once export is switched on

            auth = None
            if self.config.target == "langfuse":
                auth = httpx.BasicAuth(self.config.public_key, self.config.secret_key)
            self._client = httpx.Client(timeout=self.config.timeout_s, auth=auth)
        return self._client


def _rejected_items(response: Any) -> int:
    # Langfuse answers 207 with per-item results; a partial rejection is still a failure.
    try:
        errors = response.json().get("errors") or []
    except (ValueError, AttributeError):
        return 0
    return len(errors) if isinstance(errors, list) else 0
