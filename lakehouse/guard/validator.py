"""One entry point for every kind: parse the payload, then run the kind's checks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from lakehouse.errors import InvalidInput, Unavailable
from lakehouse.guard.fill import check_fill
from lakehouse.guard.messages import check_email, check_sms
from lakehouse.guard.payloads import (
    KINDS,
    EmailPayload,
    FillPayload,
    PlaybookPayload,
    SmsPayload,
)
from lakehouse.guard.playbook_entry import check_playbook
from lakehouse.guard.roster import Roster
from lakehouse.guard.violations import Verdict, Violation, capped, schema

_MODELS: dict[str, type[BaseModel]] = {
    "fill": FillPayload,
    "email": EmailPayload,
    "sms": SmsPayload,
    "playbook": PlaybookPayload,
}


class Validator:
    """Validates fill, email, sms and playbook payloads.

    Args:
        roster: where fill candidates are looked up; without one, fills answer 503
            (the other kinds need no roster).
    """

    def __init__(self, roster: Roster | None = None) -> None:
        self.roster = roster

    def validate(self, kind: str, payload: Mapping[str, Any]) -> Verdict:
        """The verdict on ``payload`` as a ``kind``; invalid payloads are not exceptions.

        Raises:
            InvalidInput: ``kind`` is not one of ``KINDS``, or ``payload`` is not a mapping.
            Unavailable: a fill, and no roster is loaded.
        """
        if kind not in _MODELS:
            raise InvalidInput(f"unknown kind {kind!r}; expected one of {list(KINDS)}")
        if not isinstance(payload, Mapping):
            raise InvalidInput("payload must be a JSON object")
        try:
            parsed = _MODELS[kind].model_validate(dict(payload))
        except ValidationError as exc:
            return Verdict(kind, capped(schema_violations(exc)), _ungrounded(kind))
        errors, grounded = self._check(kind, parsed)
        return Verdict(kind, capped(errors), grounded)

    def _check(self, kind: str, parsed: Any) -> tuple[list[Violation], bool | None]:
        if kind == "fill":
            if self.roster is None:
                raise Unavailable("no worker roster is loaded; ingest the workers dataset")
            return check_fill(parsed, self.roster)
        if kind == "email":
            return check_email(parsed), None
        if kind == "sms":
            return check_sms(parsed), None
        return check_playbook(parsed), None


def schema_violations(exc: ValidationError) -> list[Violation]:
    """One ``Schema`` violation per pydantic error, with the dotted path of the field."""
    return [
        schema(".".join(str(p) for p in err["loc"]) or "$", err["msg"])
        for err in exc.errors(include_url=False)
    ]


def _ungrounded(kind: str) -> bool | None:
    return False if kind == "fill" else None
