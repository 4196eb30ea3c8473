"""Staffing intents: vocabulary coverage, exact relevant sets, determinism, two phrasings."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from lakehouse.staffing import generate_batches
from lakehouse.staffing.intents import (
    CERT_ALIASES,
    ROLE_ALIASES,
    SHIFT_WORDS,
    STATE_NAMES,
    Intent,
    make_intents,
    phrase,
    relevant,
)
from lakehouse.staffing.roles import CITIES, ROLES, SHIFTS

ROWS = 5000


@pytest.fixture(scope="module")
def roster() -> pa.Table:
    return pa.Table.from_batches(list(generate_batches(ROWS)))


@pytest.fixture(scope="module")
def intents(roster) -> list[Intent]:
    return make_intents(roster.to_pylist())


def reference(table: pa.Table, intent: Intent) -> set[str]:
    """The relevant set again, with Arrow compute instead of the Python predicate."""
    mask = pc.equal(table["role"], intent.role)
    if intent.state is not None:
        mask = pc.and_(mask, pc.equal(table["state"], intent.state))
    if intent.shift is not None:
        mask = pc.and_(mask, pc.equal(table["shift"], intent.shift))
    if intent.available is not None:
        mask = pc.and_(mask, pc.equal(table["available"], intent.available))
    if intent.cert is not None:
        certs = pc.split_pattern(table["certifications"], ";")
        has = [intent.cert in (c or []) for c in certs.to_pylist()]
        mask = pc.and_(mask, pa.array(has))
    return set(table.filter(mask)["worker_id"].to_pylist())


def test_vocabulary_covers_the_roster():
    assert set(ROLE_ALIASES) == {r.title for r in ROLES}
    assert {c for r in ROLES for c in r.certs} <= set(CERT_ALIASES)
    assert set(SHIFT_WORDS) == set(SHIFTS)
    assert {st for _, st in CITIES} <= set(STATE_NAMES)


def test_relevant_sets_match_an_independent_reference(roster, intents):
    rows = roster.to_pylist()
    for intent in intents:
        assert relevant(intent, rows) == reference(roster, intent), intent.key


def test_every_intent_has_enough_relevant_rows_at_the_default_size(roster, intents):
    rows = roster.to_pylist()
    assert len(intents) == 2 * len(ROLES)
    for intent in intents:
        assert len(relevant(intent, rows)) >= 5, intent.key
        # a role and a state, and at least two more constraints
        assert intent.state is not None and len(intent.constraints()) >= 4


def test_intents_are_deterministic_and_distinct(roster, intents):
    assert make_intents(roster.to_pylist()) == intents
    assert len({i.key for i in intents}) == len(intents)
    for role in ROLES:
        mine = [i for i in intents if i.role == role.title]
        assert len({i.state for i in mine}) == len(mine)  # same role, other state
    texts = [p for i in intents for p in i.phrasings]
    assert len(set(texts)) == len(texts)


def test_the_two_phrasings_say_the_same_need_in_other_words(intents):
    for intent in intents:
        a, b = intent.phrasings
        assert intent.role in a and ROLE_ALIASES[intent.role] in b
        assert STATE_NAMES[intent.state] in a and intent.state in b.split()
        if intent.cert is not None:
            assert intent.cert in a and CERT_ALIASES[intent.cert] in b
        if intent.shift is not None:
            assert SHIFT_WORDS[intent.shift][0] in a and SHIFT_WORDS[intent.shift][1] in b


def test_none_leaves_a_constraint_out():
    row = {"role": "Welder", "state": "OH", "certifications": "OSHA 10", "shift": "day",
           "available": False}  # fmt: skip
    assert Intent("k", "Welder").matches(row)
    assert Intent("k", "Welder", state="OH", cert="OSHA 10", shift="day").matches(row)
    assert not Intent("k", "Welder", available=True).matches(row)
    assert not Intent("k", "Welder", cert="AWS Certified Welder").matches(row)
    assert not Intent("k", "Welder", cert="OSHA").matches(row)  # whole names, not substrings
    assert not Intent("k", "Line Cook").matches(row)


@pytest.mark.parametrize("style", [0, 1, 2])
def test_phrasings_without_optional_parts_read_cleanly(style):
    for a, b in (phrase("Electrician", "TX", None, "night", None, style),
                 phrase("Electrician", "TX", "OSHA 30", None, True, style)):  # fmt: skip
        for text in (a, b):
            assert "  " not in text and not text.endswith((",", ";", "-", " and"))
            assert " and and " not in text and "who and" not in text
