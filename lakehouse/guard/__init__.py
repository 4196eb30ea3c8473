"""Validators for LLM-proposed fills, emails, SMS and playbook entries (issue 6).

``Validator(roster).validate(kind, payload) -> Verdict``; a fill naming a worker id the
roster does not hold is never valid.
"""

from lakehouse.guard.fill import parse_location
from lakehouse.guard.messages import SMS_MAX_CHARS, contains_ssn
from lakehouse.guard.payloads import (
    KINDS,
    MAX_CANDIDATES,
    MAX_TARGET,
    Candidate,
    EmailPayload,
    FillPayload,
    PlaybookPayload,
    SmsPayload,
    ValidateRequest,
)
from lakehouse.guard.roster import InMemoryRoster, ParquetRoster, Roster
from lakehouse.guard.validator import Validator
from lakehouse.guard.violations import Verdict, Violation

__all__ = [
    "KINDS",
    "MAX_CANDIDATES",
    "MAX_TARGET",
    "SMS_MAX_CHARS",
    "Candidate",
    "EmailPayload",
    "FillPayload",
    "InMemoryRoster",
    "ParquetRoster",
    "PlaybookPayload",
    "Roster",
    "SmsPayload",
    "ValidateRequest",
    "Validator",
    "Verdict",
    "Violation",
    "contains_ssn",
    "parse_location",
]
