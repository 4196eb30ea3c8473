"""A client of Ray's Job Submission REST API (the dashboard's ``/api/jobs/``), over httpx.

The core may not import Ray, so the CLI reaches a cluster's job server the way any HTTP client
would (the routes of ``ray/dashboard/modules/job/job_head.py`` in Ray 2.60):

    POST /api/jobs/                 {"entrypoint", "submission_id"?, "runtime_env"?, ...}
    GET  /api/jobs/                 every job
    GET  /api/jobs/{id}             one job (status, message, start/end time, exit code)
    GET  /api/jobs/{id}/logs        {"logs": "..."}
    POST /api/jobs/{id}/stop        {"stopped": bool}

Token authentication (``RAY_AUTH_MODE=token``) wants ``Authorization: Bearer <token>``; the
token is found where Ray itself looks, first that applies: ``RAY_AUTH_TOKEN``, the file named
by ``RAY_AUTH_TOKEN_PATH``, ``~/.ray/auth_token``. Ray answers errors as plain text; they are
mapped to the project's error tree by status (401 ``Unauthorized``, 404 ``NotFound``, ...).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import orjson

from lakehouse import errors
from lakehouse.client.calls import BY_STATUS

DEFAULT_ADDRESS = "http://127.0.0.1:8265"
TERMINAL = frozenset({"SUCCEEDED", "FAILED", "STOPPED"})
MAX_MESSAGE = 500


def ray_token() -> str | None:
    """The cluster token from Ray's own sources, or None (none found, or auth disabled).

    Raises:
        InvalidInput: ``RAY_AUTH_TOKEN_PATH`` names a file that cannot be read or is empty
            (Ray treats that as a misconfiguration, not as "no token").
    """
    if os.environ.get("RAY_AUTH_MODE", "").strip().lower() == "disabled":
        return None
    token = os.environ.get("RAY_AUTH_TOKEN", "").strip()
    if token:
        return token
    named = os.environ.get("RAY_AUTH_TOKEN_PATH")
    if named:
        try:
            token = Path(named).expanduser().read_text().strip()
        except OSError as exc:
            raise errors.InvalidInput(f"RAY_AUTH_TOKEN_PATH: cannot read {named}: {exc}") from None
        if not token:
            raise errors.InvalidInput(f"RAY_AUTH_TOKEN_PATH: {named} is empty")
        return token
    default = Path.home() / ".ray" / "auth_token"
    if not default.is_file():
        return None
    return default.read_text().strip() or None


def job_server_url(address: str) -> str:
    """``host:port`` or ``http(s)://host:port`` as a base URL (Ray adds ``http://`` too).

    Raises:
        InvalidInput: another scheme (``ray://`` is the client server, not the job server).
    """
    address = address.strip()
    if "://" not in address:
        address = f"http://{address}"
    parts = urlsplit(address)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise errors.InvalidInput(
            f"--address {address!r}: the job server is the dashboard's http(s)://host:port"
        )
    return address.rstrip("/")


class RayJobs:
    """Ray's job server at ``address``, with ``token`` (default: ``ray_token()``).

    Args:
        address: the dashboard, e.g. ``http://127.0.0.1:8265``.
        token: the cluster token; None looks it up where Ray does.
        timeout_s: per request.
        transport: an httpx transport (tests).
    """

    def __init__(
        self,
        address: str = DEFAULT_ADDRESS,
        token: str | None = None,
        timeout_s: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        token = token or ray_token()
        headers = {"user-agent": "lakehouse-cli"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        self._http = httpx.Client(
            base_url=job_server_url(address), headers=headers, timeout=timeout_s,
            transport=transport,
        )  # fmt: skip

    def submit(self, entrypoint: str, **fields: Any) -> dict[str, Any]:
        """Start a job; ``fields`` are the request's others (``submission_id``,
        ``runtime_env``, ``metadata``, ``entrypoint_num_gpus``...). Returns
        ``{"submission_id", "job_id"}``."""
        body = {"entrypoint": entrypoint} | {k: v for k, v in fields.items() if v is not None}
        return self._json("POST", "/api/jobs/", body)

    def jobs(self) -> list[dict[str, Any]]:
        return self._json("GET", "/api/jobs/")

    def info(self, job_id: str) -> dict[str, Any]:
        return self._json("GET", f"/api/jobs/{_segment(job_id)}")

    def logs(self, job_id: str) -> str:
        return self._json("GET", f"/api/jobs/{_segment(job_id)}/logs")["logs"]

    def stop(self, job_id: str) -> bool:
        return bool(self._json("POST", f"/api/jobs/{_segment(job_id)}/stop")["stopped"])

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> RayJobs:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _json(self, method: str, path: str, body: Any = None) -> Any:
        response = self._http.request(method, path, json=body)
        if response.status_code >= 400:
            raise ray_error(response)
        return orjson.loads(response.content)


def ray_error(response: httpx.Response) -> errors.LakehouseError:
    """Ray's plain-text error answer as the project's error for its status.

    Ray sends a whole traceback on a 4xx/5xx from a failed submit; its last line says what
    went wrong."""
    lines = [line.strip() for line in response.text.splitlines() if line.strip()]
    message = (lines[-1] if lines else response.reason_phrase)[:MAX_MESSAGE]
    cls = BY_STATUS.get(response.status_code, errors.LakehouseError)
    exc = cls(f"Ray job server: {message}")
    exc.status = response.status_code
    return exc


def _segment(job_id: str) -> str:
    """A job id as one path segment (an id with a '/' must not reach another route)."""
    if not job_id or len(job_id) > 256:
        raise errors.InvalidInput("a job id is 1 to 256 characters")
    return quote(job_id, safe="")
