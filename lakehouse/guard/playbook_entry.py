"""The playbook validator: a ``fill:`` operation, a bounded endorsement list, a fingerprint."""

from __future__ import annotations

from collections import Counter

from lakehouse.guard.payloads import PlaybookPayload
from lakehouse.guard.violations import Violation, completeness, consistency, schema

PREFIX = "fill:"
# A playbook may endorse a bench twice the size of the fill, no more: beyond that it is a
# directory, not a recommendation.
ENDORSE_FACTOR = 2


def check_playbook(book: PlaybookPayload) -> list[Violation]:
    """Violations of a schema-valid playbook entry."""
    errors: list[Violation] = []
    if not book.operation.startswith(PREFIX):
        errors.append(schema("operation", f"must start with {PREFIX!r}"))
    elif not book.operation[len(PREFIX) :].strip():
        errors.append(completeness(f"the operation names nothing after {PREFIX!r}"))
    if not book.fingerprint.strip():
        errors.append(completeness("the fingerprint is blank"))
    errors.extend(_endorsement_errors(book))
    return errors


def _endorsement_errors(book: PlaybookPayload) -> list[Violation]:
    names = book.endorsed_names
    if not names:
        return [completeness("endorsed_names is empty")]
    errors: list[Violation] = []
    limit = book.target_count * ENDORSE_FACTOR
    if len(names) > limit:
        errors.append(
            consistency(
                f"{len(names)} endorsed names for a target of {book.target_count}; at most {limit}"
            )
        )
    if any(not n.strip() for n in names):
        errors.append(completeness("endorsed_names has a blank name"))
    counts = Counter(" ".join(n.split()).casefold() for n in names if n.strip())
    errors.extend(consistency(f"{n!r} is endorsed {c} times") for n, c in counts.items() if c > 1)
    return errors
