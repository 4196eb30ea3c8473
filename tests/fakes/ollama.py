"""A stand-in for Ollama's server (no Ollama binary can run here): ``POST /api/embed`` on a
free local port, every request recorded, so the real ``ollama`` client can be tested against it."""

from __future__ import annotations

import json
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np


class FakeOllama:
    """A local server speaking Ollama's ``POST /api/embed``; records every request.

    Vectors are deterministic per text and deliberately not unit length. ``then`` queues
    replies (status, body, delay) served before the default behaviour resumes.
    """

    def __init__(self, dim: int = 8) -> None:
        self.dim, self.requests, self.queued = dim, [], []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append({"path": self.path, **body})
                status, reply, delay = fake.reply(body)
                time.sleep(delay)
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def then(self, status: int, body: Any, delay: float = 0.0) -> FakeOllama:
        self.queued.append((status, body, delay))
        return self

    def reply(self, body: dict) -> tuple[int, Any, float]:
        if self.queued:
            return self.queued.pop(0)
        vectors = [self.vector(text) for text in body["input"]]
        return 200, {"model": body["model"], "embeddings": vectors}, 0.0

    def vector(self, text: str) -> list[float]:
        rng = np.random.default_rng(zlib.crc32(text.encode()))
        return (rng.normal(size=self.dim) * 3).tolist()

    def texts(self) -> list[str]:
        """Every text embedded so far, in the order the requests came."""
        return [text for request in self.requests for text in request.get("input", [])]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
