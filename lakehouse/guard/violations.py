"""What a validator says: a list of violations, each in one of four categories.

The wire form is fixed by DESIGN.md: every violation serialises as exactly one of
``{"Schema": {"field", "reason"}}``, ``{"Completeness": {"reason"}}``,
``{"Consistency": {"reason"}}`` or ``{"Policy": {"reason"}}``.

- **Schema**: the payload's shape: a missing or unknown field, a wrong type, a bound.
- **Completeness**: something needed is empty: no candidates, a blank body, a placeholder.
- **Consistency**: the payload contradicts the request or the roster: an id the roster
  does not hold, a wrong role or place, a duplicate, a count above the target.
- **Policy**: a business or safety rule: SMS length, an SSN-like number, header injection.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

Category = Literal["Schema", "Completeness", "Consistency", "Policy"]

# A 1,000-candidate proposal of phantoms would otherwise answer with 1,000 reasons; the
# first hundred tell a model (or a person) enough to fix the rest.
MAX_VIOLATIONS = 100


@dataclass(frozen=True)
class Violation:
    """One reason a payload was rejected."""

    category: Category
    reason: str
    field: str | None = None

    def to_dict(self) -> dict[str, dict[str, str]]:
        if self.category == "Schema":
            return {"Schema": {"field": self.field or "", "reason": self.reason}}
        return {self.category: {"reason": self.reason}}


def schema(field_name: str, reason: str) -> Violation:
    return Violation("Schema", reason, field_name)


def completeness(reason: str) -> Violation:
    return Violation("Completeness", reason)


def consistency(reason: str) -> Violation:
    return Violation("Consistency", reason)


def policy(reason: str) -> Violation:
    return Violation("Policy", reason)


@dataclass(frozen=True)
class Verdict:
    """The outcome of validating one payload.

    Attributes:
        kind: the payload kind (``fill``, ``email``, ``sms``, ``playbook``).
        errors: the violations, at most ``MAX_VIOLATIONS`` plus one summary line.
        grounded_in_roster: for fills, True when every candidate id was found in the
            roster; None for kinds that name no worker ids.
    """

    kind: str
    errors: tuple[Violation, ...] = ()
    grounded_in_roster: bool | None = None

    @property
    def valid(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "valid": self.valid,
            "errors": [e.to_dict() for e in self.errors],
            "grounded_in_roster": self.grounded_in_roster,
        }


def capped(errors: Iterable[Violation]) -> tuple[Violation, ...]:
    """At most ``MAX_VIOLATIONS`` errors, plus a line saying how many were left out."""
    items = list(errors)
    if len(items) <= MAX_VIOLATIONS:
        return tuple(items)
    left = len(items) - MAX_VIOLATIONS
    return (*items[:MAX_VIOLATIONS], consistency(f"{left} more violations not shown"))
