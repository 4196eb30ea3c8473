"""The iterate loop (issue 6): ask, extract, validate, feed the errors back, log."""

from lakehouse.iterate.log import SCHEMA, SessionLog, read_sessions
from lakehouse.iterate.loop import IterateLoop
from lakehouse.iterate.records import Attempt, IterateRequest, IterateResult

__all__ = [
    "SCHEMA",
    "Attempt",
    "IterateLoop",
    "IterateRequest",
    "IterateResult",
    "SessionLog",
    "read_sessions",
]
