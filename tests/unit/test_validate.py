"""Validators: every path of fill, email, sms and playbook, the rosters, and the rule that
a fill naming a worker absent from the roster is never accepted."""

from __future__ import annotations

import random
import threading
from collections import defaultdict
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lakehouse.errors import InvalidInput, NotFound, Unavailable
from lakehouse.guard import (
    MAX_CANDIDATES,
    InMemoryRoster,
    ParquetRoster,
    Validator,
    contains_ssn,
    parse_location,
)
from lakehouse.guard.roster import IDS_PER_QUERY
from lakehouse.guard.violations import MAX_VIOLATIONS
from lakehouse.staffing import generate_batches

ROWS = 3_000
CATEGORIES = {"Schema", "Completeness", "Consistency", "Policy"}


@pytest.fixture(scope="module")
def table() -> pa.Table:
    return pa.Table.from_batches(list(generate_batches(ROWS)))


@pytest.fixture(scope="module")
def roster(table: pa.Table) -> InMemoryRoster:
    return InMemoryRoster(table.to_pylist())


@pytest.fixture(scope="module")
def parquet_roster(table: pa.Table, tmp_path_factory: pytest.TempPathFactory) -> ParquetRoster:
    path = tmp_path_factory.mktemp("roster") / "workers.parquet"
    pq.write_table(table, path, row_group_size=500)
    return ParquetRoster(path)


@pytest.fixture(scope="module")
def validator(roster: InMemoryRoster) -> Validator:
    return Validator(roster)


@pytest.fixture(scope="module")
def crew(table: pa.Table) -> list[dict[str, Any]]:
    """The largest group of available workers sharing role, city, state and shift."""
    groups: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for row in table.to_pylist():
        if row["available"]:
            groups[(row["role"], row["city"], row["state"], row["shift"])].append(row)
    best = max(groups.values(), key=len)
    assert len(best) >= 3
    return best


def fill(crew: list[dict[str, Any]], n: int = 2, **changes: Any) -> dict[str, Any]:
    lead = crew[0]
    payload = {
        "role": lead["role"],
        "location": f"{lead['city']}, {lead['state']}",
        "shift": lead["shift"],
        "target_count": n,
        "candidates": [
            {"worker_id": w["worker_id"], "name": f"{w['first_name']} {w['last_name']}"}
            for w in crew[:n]
        ],
    }
    return {**payload, **changes}


def reasons(verdict, category: str) -> list[str]:
    return [e.reason for e in verdict.errors if e.category == category]


def only(verdict, category: str) -> str:
    """The single violation's reason, checking it is the only one and of ``category``."""
    assert not verdict.valid
    assert [e.category for e in verdict.errors] == [category], verdict.to_dict()
    return verdict.errors[0].reason


def assert_wire_shape(body: dict[str, Any]) -> None:
    for error in body["errors"]:
        assert len(error) == 1
        ((category, detail),) = error.items()
        assert category in CATEGORIES
        expected = {"field", "reason"} if category == "Schema" else {"reason"}
        assert set(detail) == expected
        assert all(isinstance(v, str) for v in detail.values())


# ---------------------------------------------------------------- fill


def test_a_matching_fill_is_valid_and_grounded(validator: Validator, crew) -> None:
    verdict = validator.validate("fill", fill(crew, 3))
    assert verdict.valid, verdict.to_dict()
    assert verdict.grounded_in_roster is True
    assert verdict.to_dict() == {
        "kind": "fill",
        "valid": True,
        "errors": [],
        "grounded_in_roster": True,
    }


@pytest.mark.parametrize("where", ["city_state", "state", "city", "none"])
def test_location_forms(validator: Validator, crew, where: str) -> None:
    lead = crew[0]
    location = {
        "city_state": f"  {lead['city'].upper()} ,  {lead['state'].lower()} ",
        "state": lead["state"],
        "city": lead["city"],
        "none": None,
    }[where]
    assert validator.validate("fill", fill(crew, location=location)).valid


def test_a_partial_fill_is_valid(validator: Validator, crew) -> None:
    assert validator.validate("fill", fill(crew, 2, target_count=5)).valid


def test_a_phantom_id_is_rejected(validator: Validator, crew) -> None:
    payload = fill(crew, 2, target_count=3)
    payload["candidates"].append({"worker_id": "W9999999"})
    verdict = validator.validate("fill", payload)
    assert only(verdict, "Consistency") == "worker W9999999 is not in the roster"
    assert verdict.grounded_in_roster is False


@pytest.mark.parametrize(
    "phantom",
    ["w0000001", " W0000001", "W0000001 ", "W00000001", "W000000１", "W0000001\x00", "0000001"],
)
def test_near_miss_ids_are_phantoms(validator: Validator, crew, phantom: str) -> None:
    payload = fill(crew, 1, target_count=2)
    payload["candidates"].append({"worker_id": phantom})
    verdict = validator.validate("fill", payload)
    assert only(verdict, "Consistency") == f"worker {phantom} is not in the roster"


def test_wrong_role(validator: Validator, crew) -> None:
    reason = only(validator.validate("fill", fill(crew, 1, role="Astronaut")), "Consistency")
    assert reason == f"worker {crew[0]['worker_id']}'s role is {crew[0]['role']}, not Astronaut"
    assert len(validator.validate("fill", fill(crew, 2, role="Astronaut")).errors) == 2


def test_role_match_ignores_case_and_spacing(validator: Validator, crew) -> None:
    role = "  " + crew[0]["role"].upper().replace(" ", "   ") + " "
    assert validator.validate("fill", fill(crew, role=role)).valid


def test_wrong_city_and_wrong_state(validator: Validator, crew) -> None:
    state = crew[0]["state"]
    other_state = "ZZ" if state != "ZZ" else "YY"
    assert "is in" in only(
        validator.validate("fill", fill(crew, 1, location="Nowhere")), "Consistency"
    )
    assert "is in" in only(
        validator.validate("fill", fill(crew, 1, location=other_state)), "Consistency"
    )
    both = validator.validate("fill", fill(crew, 1, location=f"Nowhere, {other_state}"))
    assert len(reasons(both, "Consistency")) == 2


def test_wrong_shift(validator: Validator, crew) -> None:
    other = next(s for s in ("day", "night") if s != crew[0]["shift"])
    reason = only(validator.validate("fill", fill(crew, 1, shift=other)), "Consistency")
    assert reason.endswith(f"not {other}")


def test_unavailable_worker(validator: Validator, table: pa.Table) -> None:
    busy = next(r for r in table.to_pylist() if not r["available"])
    payload = {
        "role": busy["role"],
        "location": f"{busy['city']}, {busy['state']}",
        "shift": busy["shift"],
        "target_count": 1,
        "candidates": [{"worker_id": busy["worker_id"]}],
    }
    assert only(validator.validate("fill", payload), "Consistency").endswith("is not available")


def test_invented_name_on_a_real_id(validator: Validator, crew) -> None:
    payload = fill(crew, 1)
    payload["candidates"][0]["name"] = "Invented Person"
    assert "does not match the roster" in only(validator.validate("fill", payload), "Consistency")
    payload["candidates"][0]["name"] = f" {crew[0]['first_name'].upper()}  {crew[0]['last_name']}"
    assert validator.validate("fill", payload).valid


def test_extra_candidate_fields_are_ignored(validator: Validator, crew) -> None:
    payload = fill(crew, 1)
    payload["candidates"][0].update(reason="close by", score=0.9)
    assert validator.validate("fill", payload).valid


def test_duplicates_and_over_target(validator: Validator, crew) -> None:
    payload = fill(crew, 2)
    payload["candidates"].append(dict(payload["candidates"][0]))
    verdict = validator.validate("fill", payload)
    assert reasons(verdict, "Consistency") == [
        "3 candidates proposed for a target of 2",
        f"worker {crew[0]['worker_id']} is proposed 2 times",
    ]


def test_no_candidates_and_blank_role(validator: Validator, crew) -> None:
    verdict = validator.validate("fill", fill(crew, candidates=[], role="   "))
    assert reasons(verdict, "Completeness") == ["role is blank", "no candidates proposed"]
    assert verdict.grounded_in_roster is False


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"target_count": 0}, "target_count"),
        ({"target_count": 1001}, "target_count"),
        ({"target_count": "2"}, "target_count"),
        ({"target_count": 2.5}, "target_count"),
        ({"role": ""}, "role"),
        ({"location": "Houston, Texas"}, "location"),
        ({"shift": "morning"}, "shift"),
        ({"candidates": "W0000001"}, "candidates"),
        ({"candidates": ["W0000001"]}, "candidates.0"),
        ({"candidates": [{"name": "no id"}]}, "candidates.0.worker_id"),
        ({"candidates": [{"worker_id": ""}]}, "candidates.0.worker_id"),
        ({"notes": "extra field"}, "notes"),
    ],
)
def test_fill_schema_errors(validator: Validator, crew, changes: dict, field: str) -> None:
    verdict = validator.validate("fill", fill(crew, **changes))
    assert [e.field for e in verdict.errors] == [field], verdict.to_dict()
    assert verdict.errors[0].category == "Schema"
    assert verdict.grounded_in_roster is False
    assert_wire_shape(verdict.to_dict())


def test_missing_fields_are_schema_errors(validator: Validator) -> None:
    verdict = validator.validate("fill", {})
    assert {e.field for e in verdict.errors} == {"role", "target_count", "candidates"}
    assert {e.reason for e in verdict.errors} == {"Field required"}


def test_too_many_candidates_is_a_schema_error(validator: Validator, crew) -> None:
    candidates = [{"worker_id": f"W{i:07d}"} for i in range(MAX_CANDIDATES + 1)]
    verdict = validator.validate("fill", fill(crew, candidates=candidates))
    assert [e.field for e in verdict.errors] == ["candidates"]


def test_violations_are_capped(validator: Validator, crew) -> None:
    phantoms = [{"worker_id": f"X{i}"} for i in range(300)]
    verdict = validator.validate("fill", fill(crew, target_count=1000, candidates=phantoms))
    assert len(verdict.errors) == MAX_VIOLATIONS + 1
    assert verdict.errors[-1].reason == f"{300 - MAX_VIOLATIONS} more violations not shown"


def test_fill_without_a_roster_is_unavailable(crew) -> None:
    with pytest.raises(Unavailable) as info:
        Validator(None).validate("fill", fill(crew))
    assert info.value.status == 503


def test_unknown_kind_and_non_object_payload(validator: Validator) -> None:
    with pytest.raises(InvalidInput) as info:
        validator.validate("tweet", {})
    assert info.value.status == 400 and "tweet" in info.value.message
    with pytest.raises(InvalidInput):
        validator.validate("sms", ["to", "body"])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("Houston, TX", ("houston", "tx")),
        ("san  antonio ,tx", ("san antonio", "tx")),
        ("TX", (None, "tx")),
        ("Houston", ("houston", None)),
        (None, (None, None)),
        ("  ", (None, None)),
    ],
)
def test_parse_location(location, expected) -> None:
    assert parse_location(location) == expected


# ---------------------------------------------------------------- email and sms

EMAIL = {"to": "dana.lee@example.com", "subject": "Shift confirmed", "body": "See you Monday."}


def test_a_good_email_is_valid(validator: Validator) -> None:
    verdict = validator.validate("email", EMAIL)
    assert verdict.valid and verdict.grounded_in_roster is None


@pytest.mark.parametrize(
    ("changes", "category", "fragment"),
    [
        ({"to": "not-an-address"}, "Schema", "not an email address"),
        ({"to": "a@b"}, "Schema", "not an email address"),
        ({"subject": "  "}, "Completeness", "subject is blank"),
        ({"body": "\n"}, "Completeness", "body is blank"),
        ({"subject": "Hi\r\nBcc: all@example.com"}, "Policy", "header injection"),
        ({"body": "Your SSN 123-45-6789 is on file."}, "Policy", "SSN-like"),
        ({"subject": "ID 123456789"}, "Policy", "SSN-like"),
        ({"body": "Hello {{first_name}}, welcome."}, "Completeness", "placeholder"),
        ({"body": "Dear [Worker Name], welcome."}, "Completeness", "placeholder"),
    ],
)
def test_email_violations(validator: Validator, changes, category, fragment) -> None:
    verdict = validator.validate("email", {**EMAIL, **changes})
    assert [e.category for e in verdict.errors] == [category], verdict.to_dict()
    assert fragment in verdict.errors[0].reason
    assert_wire_shape(verdict.to_dict())


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({"to": "a@example.com", "subject": "s"}, {"body"}),
        ({**EMAIL, "cc": "x@example.com"}, {"cc"}),
        ({**EMAIL, "subject": "s" * 201}, {"subject"}),
        ({**EMAIL, "body": 42}, {"body"}),
    ],
)
def test_email_schema(validator: Validator, payload, fields) -> None:
    verdict = validator.validate("email", payload)
    assert {e.field for e in verdict.errors} == fields
    assert {e.category for e in verdict.errors} == {"Schema"}


SMS = {"to": "(713) 555-0100", "body": "Your shift starts at 7am at Dock 4."}


@pytest.mark.parametrize("to", ["(713) 555-0100", "+1 713 555 0100", "713.555.0100", "7135550100"])
def test_a_good_sms_is_valid(validator: Validator, to: str) -> None:
    assert validator.validate("sms", {**SMS, "to": to}).valid


def test_sms_length_limit(validator: Validator) -> None:
    assert validator.validate("sms", {**SMS, "body": "x" * 160}).valid
    verdict = validator.validate("sms", {**SMS, "body": "x" * 161})
    assert only(verdict, "Policy") == "the SMS body is 161 characters; at most 160"


@pytest.mark.parametrize(
    "body",
    [
        "SSN 123-45-6789",
        "ssn: 123 45 6789",
        "id 123.45.6789 ok",
        "number 123456789.",
        "123-45-6789",
    ],
)
def test_sms_ssn_is_rejected(validator: Validator, body: str) -> None:
    assert only(validator.validate("sms", {**SMS, "body": body}), "Policy").endswith(
        "SSN-like number"
    )


@pytest.mark.parametrize(
    "body",
    [
        "Call (713) 555-0100 to confirm.",
        "Call 713-555-0100 to confirm.",
        "Call +1 713 555 0100 now.",
        "Text 7135550100 back.",
        "Call +17135550100.",
        "Order 1234-56-7890 is ready.",
        "Zip 77002-1234, gate 12.",
    ],
)
def test_sms_phone_numbers_pass(validator: Validator, body: str) -> None:
    assert validator.validate("sms", {**SMS, "body": body}).valid
    assert not contains_ssn(body)


@pytest.mark.parametrize(
    ("payload", "category", "field"),
    [
        ({"body": "hi"}, "Schema", "to"),
        ({"to": "(713) 555-0100"}, "Schema", "body"),
        ({**SMS, "to": "call me"}, "Schema", "to"),
        ({**SMS, "to": "555-0100"}, "Schema", "to"),
        ({**SMS, "body": "   "}, "Completeness", None),
        ({**SMS, "body": "Hi {{name}}!"}, "Completeness", None),
    ],
)
def test_sms_required_fields(validator: Validator, payload, category, field) -> None:
    verdict = validator.validate("sms", payload)
    assert [(e.category, e.field) for e in verdict.errors] == [(category, field)]


# ---------------------------------------------------------------- playbook

BOOK = {
    "operation": "fill: Forklift Operator, Houston TX",
    "endorsed_names": ["Ana Diaz", "Bo Chen"],
    "target_count": 1,
    "fingerprint": "9f2c" * 16,
}


def test_a_good_playbook_is_valid(validator: Validator) -> None:
    assert validator.validate("playbook", BOOK).valid


@pytest.mark.parametrize(
    ("changes", "category", "fragment"),
    [
        ({"operation": "staff: Forklift"}, "Schema", "must start with 'fill:'"),
        ({"operation": "Fill: Forklift"}, "Schema", "must start with 'fill:'"),
        ({"operation": "fill:   "}, "Completeness", "names nothing"),
        ({"endorsed_names": ["A", "B", "C"]}, "Consistency", "at most 2"),
        ({"endorsed_names": []}, "Completeness", "empty"),
        ({"endorsed_names": ["Ana Diaz", " "]}, "Completeness", "blank name"),
        ({"endorsed_names": ["Ana Diaz", "ana  diaz"]}, "Consistency", "endorsed 2 times"),
        ({"fingerprint": " "}, "Completeness", "fingerprint is blank"),
    ],
)
def test_playbook_violations(validator: Validator, changes, category, fragment) -> None:
    verdict = validator.validate("playbook", {**BOOK, **changes})
    assert [e.category for e in verdict.errors] == [category], verdict.to_dict()
    assert fragment in verdict.errors[0].reason


def test_playbook_endorsement_bound_scales_with_target(validator: Validator) -> None:
    names = [f"Name {i}" for i in range(6)]
    assert validator.validate(
        "playbook", {**BOOK, "endorsed_names": names, "target_count": 3}
    ).valid
    verdict = validator.validate("playbook", {**BOOK, "endorsed_names": names, "target_count": 2})
    assert only(verdict, "Consistency") == "6 endorsed names for a target of 2; at most 4"


@pytest.mark.parametrize("missing", ["operation", "endorsed_names", "target_count", "fingerprint"])
def test_playbook_required_fields(validator: Validator, missing: str) -> None:
    payload = {k: v for k, v in BOOK.items() if k != missing}
    verdict = validator.validate("playbook", payload)
    assert [(e.category, e.field, e.reason) for e in verdict.errors] == [
        ("Schema", missing, "Field required")
    ]


# ---------------------------------------------------------------- rosters


def test_parquet_roster_agrees_with_memory(roster, parquet_roster) -> None:
    ids = ["W0000000", "W0000007", f"W{ROWS - 1:07d}", f"W{ROWS:07d}", "nope", "W0000007"]
    assert parquet_roster.lookup(ids) == roster.lookup(ids)
    assert set(parquet_roster.lookup(ids)) == {"W0000000", "W0000007", f"W{ROWS - 1:07d}"}
    assert len(parquet_roster) == len(roster) == ROWS
    assert parquet_roster.lookup([]) == {}


def test_parquet_roster_row_shape(parquet_roster) -> None:
    row = parquet_roster.lookup(["W0000001"])["W0000001"]
    assert set(row) == {
        "worker_id", "role", "city", "state", "shift", "available", "first_name", "last_name"
    }  # fmt: skip
    assert isinstance(row["available"], bool)


def test_long_id_lists_are_chunked(roster, parquet_roster) -> None:
    ids = [f"W{i:07d}" for i in range(0, 2 * ROWS, 2)][: IDS_PER_QUERY * 2 + 7]
    assert parquet_roster.lookup(ids) == roster.lookup(ids)


def test_parquet_roster_is_thread_safe(roster, parquet_roster) -> None:
    failures: list[str] = []

    def work(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(40):
            ids = [f"W{rng.randrange(ROWS * 2):07d}" for _ in range(rng.randrange(1, 30))]
            if parquet_roster.lookup(ids) != roster.lookup(ids):
                failures.append(f"seed {seed}")

    threads = [threading.Thread(target=work, args=(s,)) for s in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


def test_roster_from_arrow_and_bad_rosters(table: pa.Table, tmp_path: Path) -> None:
    small = table.slice(0, 10)
    assert len(ParquetRoster(small)) == 10
    pq.write_table(small.drop_columns(["available"]), tmp_path / "no_avail.parquet")
    with pytest.raises(InvalidInput, match="lacks columns"):
        ParquetRoster(tmp_path / "no_avail.parquet")
    pq.write_table(pa.concat_tables([small, small.slice(0, 1)]), tmp_path / "dupes.parquet")
    with pytest.raises(InvalidInput, match="repeats a worker_id"):
        ParquetRoster(tmp_path / "dupes.parquet")
    with pytest.raises(InvalidInput, match="lacks columns"):
        InMemoryRoster([{"worker_id": "W1"}])
    with pytest.raises(NotFound):
        ParquetRoster(tmp_path / "missing.parquet")


def test_roster_without_names_skips_the_name_check(crew) -> None:
    nameless = InMemoryRoster(
        {k: v for k, v in w.items() if k not in ("first_name", "last_name")} for w in crew
    )
    payload = fill(crew, 1)
    payload["candidates"][0]["name"] = "Anyone"
    assert Validator(nameless).validate("fill", payload).valid


# ---------------------------------------------------------------- the product rule


def _proposal(rng: random.Random, rows: list[dict], crew: list[dict]) -> dict[str, Any]:
    """A random fill: sometimes built to pass, sometimes mixing in phantom ids."""
    if rng.random() < 0.3:  # a plausible, matching fill, maybe with a phantom slipped in
        payload = fill(crew, rng.randint(1, 3))
    else:
        lead = rng.choice(rows)
        picks = rng.sample(rows, rng.randint(0, 6))
        payload = {
            "role": lead["role"],
            "location": rng.choice([None, lead["state"], f"{lead['city']}, {lead['state']}"]),
            "target_count": rng.randint(1, 8),
            "candidates": [{"worker_id": w["worker_id"]} for w in picks],
        }
    for _ in range(rng.choice([0, 0, 1, 2])):
        payload["candidates"].insert(
            rng.randint(0, len(payload["candidates"])), {"worker_id": _phantom(rng)}
        )
    return payload


def _phantom(rng: random.Random) -> str:
    real = f"W{rng.randrange(ROWS):07d}"
    return rng.choice(
        [
            f"W{rng.randrange(ROWS, 10_000_000):07d}",
            real.lower(),
            real + " ",
            "W0" + real[1:],
            real.replace("0", "O", 1),
            "".join(rng.choice("W0123456789") for _ in range(8)),
        ]
    )


def _check_rule(verdict, payload: dict, known: set[str]) -> bool:
    """The rule itself; returns whether the proposal had a phantom."""
    phantoms = {c["worker_id"] for c in payload["candidates"]} - known
    if phantoms:
        assert not verdict.valid, payload
        assert verdict.grounded_in_roster is False
        text = " ".join(reasons(verdict, "Consistency"))
        assert all(f"worker {p} is not in the roster" in text for p in phantoms)
    return bool(phantoms)


def test_ten_thousand_random_proposals_never_accept_a_phantom(validator, table, crew) -> None:
    rows = table.to_pylist()
    known = {r["worker_id"] for r in rows}
    rng = random.Random(20240606)
    outcomes = {"phantom": 0, "accepted": 0}
    for _ in range(10_000):
        payload = _proposal(rng, rows, crew)
        verdict = validator.validate("fill", payload)
        outcomes["phantom"] += _check_rule(verdict, payload, known)
        outcomes["accepted"] += verdict.valid
    # both sides of the rule were exercised: many phantoms, and real fills that pass
    assert outcomes["phantom"] > 2_000 and outcomes["accepted"] > 1_000, outcomes


def test_parquet_and_memory_rosters_give_the_same_verdicts(
    roster, parquet_roster, table, crew
) -> None:
    rows = table.to_pylist()
    rng = random.Random(7)
    for _ in range(500):
        payload = _proposal(rng, rows, crew)
        a = Validator(roster).validate("fill", payload)
        b = Validator(parquet_roster).validate("fill", payload)
        assert a.to_dict() == b.to_dict()


_ids = st.one_of(
    st.integers(0, ROWS - 1).map(lambda i: f"W{i:07d}"),
    st.integers(ROWS, 9_999_999).map(lambda i: f"W{i:07d}"),
    st.text(min_size=1, max_size=12),
)


@settings(max_examples=300, deadline=None)
@given(ids=st.lists(_ids, max_size=12), target=st.integers(1, 12), use_crew_role=st.booleans())
def test_property_no_phantom_is_ever_accepted(validator, crew, ids, target, use_crew_role) -> None:
    payload = {
        "role": crew[0]["role"] if use_crew_role else "Welder",
        "target_count": target,
        "candidates": [{"worker_id": i} for i in ids],
    }
    verdict = validator.validate("fill", payload)
    known = {f"W{i:07d}" for i in range(ROWS)}
    if any(i not in known for i in ids):
        assert not verdict.valid
        assert verdict.grounded_in_roster is False
