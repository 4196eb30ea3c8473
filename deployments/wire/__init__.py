"""The HTTP wire models, one module per route family (pydantic v2, ``extra="forbid"``,
explicit bounds); the routes in ``deployments/routes/`` import them from here."""

from deployments.wire.common import ERRORS, ErrorResponse

__all__ = ["ERRORS", "ErrorResponse"]
