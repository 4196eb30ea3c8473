"""The fill validator: every candidate is a real, available worker who meets the request.

The product rule: a candidate id absent from the roster is never accepted. The check is
a set difference against one batched roster lookup, so it cannot be skipped by a
candidate that otherwise looks right.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from lakehouse.guard.payloads import FillPayload
from lakehouse.guard.roster import Roster
from lakehouse.guard.violations import Violation, completeness, consistency


def check_fill(fill: FillPayload, roster: Roster) -> tuple[list[Violation], bool]:
    """Violations of a schema-valid fill, and whether every candidate id was in the roster."""
    errors: list[Violation] = []
    if not fill.role.strip():
        errors.append(completeness("role is blank"))
    if not fill.candidates:
        errors.append(completeness("no candidates proposed"))
        return errors, False
    ids = [c.worker_id for c in fill.candidates]
    if len(ids) > fill.target_count:
        errors.append(
            consistency(f"{len(ids)} candidates proposed for a target of {fill.target_count}")
        )
    errors.extend(
        consistency(f"worker {wid} is proposed {n} times")
        for wid, n in Counter(ids).items()
        if n > 1
    )
    rows = roster.lookup(list(dict.fromkeys(ids)))
    errors.extend(_candidate_errors(fill, rows))
    grounded = all(wid in rows for wid in ids)
    return errors, grounded


def _candidate_errors(fill: FillPayload, rows: dict[str, dict[str, Any]]) -> list[Violation]:
    errors: list[Violation] = []
    seen: set[str] = set()
    city, state = parse_location(fill.location)
    for cand in fill.candidates:
        wid = cand.worker_id
        if wid in seen:
            continue  # already reported as a duplicate; one set of reasons per worker
        seen.add(wid)
        row = rows.get(wid)
        if row is None:
            errors.append(consistency(f"worker {wid} is not in the roster"))
            continue
        errors.extend(_row_errors(wid, row, fill, city, state))
        if cand.name is not None and not _same_name(cand.name, row):
            errors.append(consistency(f"name {cand.name!r} does not match the roster for {wid}"))
    return errors


def _row_errors(
    wid: str, row: dict[str, Any], fill: FillPayload, city: str | None, state: str | None
) -> list[Violation]:
    errors = []
    if _norm(row["role"]) != _norm(fill.role):
        errors.append(consistency(f"worker {wid}'s role is {row['role']}, not {fill.role}"))
    if city is not None and _norm(row["city"]) != city:
        errors.append(consistency(f"worker {wid} is in {row['city']}, not {fill.location}"))
    if state is not None and _norm(row["state"]) != state:
        errors.append(consistency(f"worker {wid} is in {row['state']}, not {fill.location}"))
    if fill.shift is not None and _norm(row["shift"]) != fill.shift:
        errors.append(consistency(f"worker {wid} works {row['shift']} shifts, not {fill.shift}"))
    if row["available"] is not True:
        errors.append(consistency(f"worker {wid} is not available"))
    return errors


def parse_location(location: str | None) -> tuple[str | None, str | None]:
    """``"Houston, TX"`` -> (houston, tx); ``"TX"`` -> (None, tx); ``"Houston"`` -> (houston, None).

    A bare two-letter word is read as a state: no roster city has a two-letter name.
    """
    if location is None or not location.strip():
        return None, None
    if "," in location:
        city, state = location.split(",", 1)
        return _norm(city), _norm(state)
    word = location.strip()
    if len(word) == 2 and word.isalpha():
        return None, _norm(word)
    return _norm(word), None


def _same_name(given: str, row: dict[str, Any]) -> bool:
    if "first_name" not in row or "last_name" not in row:
        return True  # this roster holds no names; the id check already grounds the worker
    return _norm(given) == _norm(f"{row['first_name']} {row['last_name']}")


def _norm(value: Any) -> str:
    return " ".join(str(value).split()).casefold()
