"""The service's Python client: ``from lakehouse.client import Client, AsyncClient``.

    with Client("http://127.0.0.1:8000", token="...") as client:
        client.vectors.create("people", dim=384)
        client.vectors.add("people", ids, vectors)          # numpy in, packed float32 up
        hits = client.vectors.search("people", vectors[0], k=10)["hits"]
        rows = client.sql.query("SELECT count(*) FROM workers")["rows"]

Errors are the project's own (``lakehouse.errors``), picked by the server's error code.
"""

from lakehouse.client.aio import AsyncClient
from lakehouse.client.base import Options
from lakehouse.client.calls import TRACE_HEADER, Upload
from lakehouse.client.sync import Client
from lakehouse.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    LakehouseError,
    NotFound,
    TooLarge,
    Unauthorized,
    Unavailable,
)

__all__ = [
    "TRACE_HEADER",
    "AsyncClient",
    "Client",
    "Conflict",
    "Forbidden",
    "InvalidInput",
    "LakehouseError",
    "NotFound",
    "Options",
    "TooLarge",
    "Unauthorized",
    "Unavailable",
    "Upload",
]
