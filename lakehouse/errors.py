"""The one error tree of the project.

Every domain error carries a class-level HTTP ``status`` and a stable ``code`` that the
ingress turns into ``{"error": code, "message": ...}``. Errors cross Ray process
boundaries, so each one pickles to its class and arguments (``__reduce__``).

    LakehouseError (500, "internal")
     ├── InvalidInput        400 "invalid_input"
     │    └── QueryRejected   400 "query_rejected"
     ├── Unauthorized        401 "unauthorized"
     ├── Forbidden           403 "forbidden"
     ├── NotFound            404 "not_found"
     ├── QueryTimeout        408 "query_timeout"
     ├── Conflict            409 "conflict"
     │    └── SchemaDrift     409 "schema_drift"
     ├── TooLarge            413 "too_large"
     ├── Unprocessable       422 "unprocessable"
     ├── BadGateway          502 "bad_gateway"
     ├── Unavailable         503 "unavailable"
     │    └── TemporarilyUnavailable  503 "temporarily_unavailable" + Retry-After
     ├── GatewayTimeout      504 "gateway_timeout"
     └── StorageError        500 "storage_error"
"""

from __future__ import annotations

from typing import Any


class LakehouseError(Exception):
    """Base of every domain error: a message plus an HTTP status and a stable code."""

    status: int = 500
    code: str = "internal"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.message, self.details))

    def to_dict(self) -> dict[str, Any]:
        """The wire form: ``{"error": code, "message": ...}`` plus any details."""
        body: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


def _rebuild(cls: type[LakehouseError], message: str, details: dict[str, Any]) -> LakehouseError:
    return cls(message, **details)


class InvalidInput(LakehouseError):
    status, code = 400, "invalid_input"


class QueryRejected(InvalidInput):
    code = "query_rejected"


class Unauthorized(LakehouseError):
    status, code = 401, "unauthorized"


class Forbidden(LakehouseError):
    status, code = 403, "forbidden"


class NotFound(LakehouseError):
    status, code = 404, "not_found"


class QueryTimeout(LakehouseError):
    status, code = 408, "query_timeout"


class Conflict(LakehouseError):
    status, code = 409, "conflict"


class SchemaDrift(Conflict):
    code = "schema_drift"


class TooLarge(LakehouseError):
    status, code = 413, "too_large"


class Unprocessable(LakehouseError):
    status, code = 422, "unprocessable"


class BadGateway(LakehouseError):
    status, code = 502, "bad_gateway"


class Unavailable(LakehouseError):
    status, code = 503, "unavailable"


class TemporarilyUnavailable(Unavailable):
    """A 503 that asking again soon can cure (an actor restarting, every worker busy); the
    ingress adds ``Retry-After``. A plain ``Unavailable`` is missing configuration."""

    code = "temporarily_unavailable"
    retry_after_s = 1


class GatewayTimeout(LakehouseError):
    status, code = 504, "gateway_timeout"


class StorageError(LakehouseError):
    status, code = 500, "storage_error"
