"""Validators for LLM-proposed fills, emails, SMS and playbook entries (issue 6).

``Validator(roster).validate(kind, payload) -> Verdict``; a fill naming a worker id the
roster does not hold is never valid.
"""

from lakehouse.validate.fill import parse_location
from lakehouse.validate.messages import SMS_MAX_CHARS, contains_ssn
from lakehouse.validate.models import (
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
from lakehouse.validate.roster import InMemoryRoster, ParquetRoster, Roster
from lakehouse.validate.validator import Validator
from lakehouse.validate.violations import Verdict, Violation

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
