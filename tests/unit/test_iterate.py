"""The iterate loop with a scripted provider injected by the test: success at once,
success after feedback, attempts exhausted, provider errors; the session log rows match."""

from __future__ import annotations

import itertools
import json
import os
import pickle
from collections import defaultdict
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from pydantic import ValidationError

from lakehouse.chat import ChatConfig, ChatRouter
from lakehouse.errors import GatewayTimeout, InvalidInput, StorageError, Unavailable
from lakehouse.guard import InMemoryRoster, Validator
from lakehouse.iterate import SCHEMA, IterateLoop, IterateRequest, SessionLog, read_sessions
from lakehouse.staffing import generate_batches
from tests.fakes.scripted_chat import ScriptedProvider
from tests.unit.test_chat import FakeServer, ollama_answer


@pytest.fixture(scope="module")
def rows() -> list[dict[str, Any]]:
    return pa.Table.from_batches(list(generate_batches(800))).to_pylist()


@pytest.fixture(scope="module")
def crew(rows) -> list[dict[str, Any]]:
    groups: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row["available"]:
            groups[(row["role"], row["city"], row["state"])].append(row)
    return max(groups.values(), key=len)


@pytest.fixture(scope="module")
def validator(rows) -> Validator:
    return Validator(InMemoryRoster(rows))


@pytest.fixture
def log(tmp_path: Path) -> SessionLog:
    return SessionLog(tmp_path / "logs" / "sessions.jsonl")


def counter() -> Any:
    numbers = itertools.count(1)
    return lambda: f"id-{next(numbers)}"


def make_loop(
    script: list, validator: Validator, log: SessionLog
) -> tuple[IterateLoop, ScriptedProvider]:
    provider = ScriptedProvider(script)
    return IterateLoop(provider, validator, log, new_id=counter()), provider


def pinned(crew) -> dict[str, Any]:
    lead = crew[0]
    return {"role": lead["role"], "location": f"{lead['city']}, {lead['state']}", "target_count": 2}


def proposal(*ids: str, **extra: Any) -> str:
    return json.dumps({"candidates": [{"worker_id": i} for i in ids], **extra})


def request(crew, **changes: Any) -> IterateRequest:
    fields = {
        "model": "scripted-model",
        "kind": "fill",
        "prompt": "Fill 2 openings",
        "pinned": pinned(crew),
    }
    return IterateRequest(**{**fields, **changes})


def test_accepted_at_once(validator, log, crew) -> None:
    good = proposal(crew[0]["worker_id"], crew[1]["worker_id"])
    loop, provider = make_loop([good], validator, log)
    result = loop.run(request(crew), trace_id="trace-1")
    assert (result.status, result.accepted, result.attempts) == ("accepted", True, 1)
    assert result.payload == {**json.loads(good), **pinned(crew)}
    assert result.errors == [] and result.reason is None
    assert result.grounded_in_roster is True
    assert (result.session_id, result.trace_id) == ("id-1", "trace-1")
    (row,) = log.read()
    assert row["schema"] == SCHEMA == "session.iterate.v1"
    assert (row["session_id"], row["trace_id"], row["model"], row["kind"]) == (
        "id-1",
        "trace-1",
        "scripted-model",
        "fill",
    )
    assert (row["status"], row["accepted"], row["grounded_in_roster"]) == ("accepted", True, True)
    (attempt,) = row["attempts"]
    assert attempt["n"] == 1 and attempt["prompt"] == "Fill 2 openings"
    assert attempt["raw"] == good and attempt["status"] == "accepted" and attempt["errors"] == []
    messages = provider.calls[0]["messages"]
    assert [m["role"] for m in messages] == ["system", "user"]
    assert row["system"] == messages[0]["content"]
    assert json.dumps(pinned(crew)) in messages[0]["content"]


def test_accepted_after_feedback(validator, log, crew) -> None:
    script = [
        "Sorry, I cannot find anyone.",
        proposal(crew[0]["worker_id"], "W9999999"),
        "Here you go:\n```json\n" + proposal(crew[0]["worker_id"]) + "\n```",
    ]
    loop, provider = make_loop(script, validator, log)
    result = loop.run(request(crew, max_iter=5))
    assert (result.status, result.attempts, result.grounded_in_roster) == ("accepted", 3, True)
    assert result.trace_id == "id-2"  # minted when the caller sends none

    feedback = [call["messages"][-1]["content"] for call in provider.calls[1:]]
    assert "no JSON object found" in feedback[0]
    assert "- Consistency: worker W9999999 is not in the roster" in feedback[1]
    assert [m["role"] for m in provider.calls[2]["messages"]] == [
        "system", "user", "assistant", "user", "assistant", "user"
    ]  # fmt: skip

    (row,) = log.read()
    assert [a["status"] for a in row["attempts"]] == ["unparseable", "rejected", "accepted"]
    assert [a["raw"] for a in row["attempts"]] == script
    assert [a["prompt"] for a in row["attempts"]] == ["Fill 2 openings", *feedback]
    assert row["attempts"][0]["errors"][0]["Schema"]["field"] == "$"
    assert row["attempts"][1]["errors"] == [
        {"Consistency": {"reason": "worker W9999999 is not in the roster"}}
    ]


def test_attempts_exhausted(validator, log, crew) -> None:
    script = [proposal("W9999999"), proposal("W8888888")]
    loop, provider = make_loop(script, validator, log)
    result = loop.run(request(crew, max_iter=2))
    assert (result.status, result.accepted, result.attempts) == ("exhausted", False, 2)
    assert result.payload is None and result.grounded_in_roster is False
    assert result.errors == [{"Consistency": {"reason": "worker W8888888 is not in the roster"}}]
    assert result.reason == (
        "not accepted after 2 attempts; last: Consistency: worker W8888888 is not in the roster"
    )
    assert provider.remaining == 0 and len(provider.calls) == 2
    (row,) = log.read()
    assert (row["status"], row["accepted"], row["grounded_in_roster"]) == (
        "exhausted",
        False,
        False,
    )
    assert [a["status"] for a in row["attempts"]] == ["rejected", "rejected"]


def test_pinned_fields_win_over_the_model(validator, log, crew) -> None:
    sneaky = proposal(crew[0]["worker_id"], role="Astronaut", target_count=99)
    loop, _ = make_loop([sneaky], validator, log)
    result = loop.run(request(crew))
    assert result.accepted
    assert result.payload["role"] == crew[0]["role"] and result.payload["target_count"] == 2


def test_pinned_fields_cannot_be_dodged(validator, log, crew) -> None:
    other = next(r for r in crew[1:] if r["worker_id"] != crew[0]["worker_id"])
    loop, _ = make_loop([proposal(other["worker_id"])], validator, log)
    result = loop.run(request(crew, max_iter=1, pinned={**pinned(crew), "role": "Astronaut"}))
    assert not result.accepted and "role is" in result.reason


def test_provider_error_is_raised_after_logging(validator, log, crew) -> None:
    loop, _ = make_loop([Unavailable("ollama is unreachable")], validator, log)
    with pytest.raises(Unavailable) as info:
        loop.run(request(crew), trace_id="t-9")
    assert info.value.status == 503
    assert info.value.details == {"session_id": "id-1"}
    assert pickle.loads(pickle.dumps(info.value)).details == {"session_id": "id-1"}  # for Ray
    (row,) = log.read()
    assert (row["status"], row["trace_id"], row["grounded_in_roster"]) == (
        "provider_error",
        "t-9",
        False,
    )
    (attempt,) = row["attempts"]
    assert attempt["raw"] is None and attempt["status"] == "provider_error"
    assert attempt["errors"] == [{"error": "unavailable", "message": "ollama is unreachable"}]


def test_provider_error_mid_session(validator, log, crew) -> None:
    loop, _ = make_loop([proposal("W9999999"), GatewayTimeout("too slow")], validator, log)
    with pytest.raises(GatewayTimeout):
        loop.run(request(crew))
    (row,) = log.read()
    assert [a["status"] for a in row["attempts"]] == ["rejected", "provider_error"]


def test_unexpected_failure_is_logged_and_raised(rows, log, crew) -> None:
    class BrokenRoster:
        def lookup(self, worker_ids):
            raise RuntimeError("disk on fire")

    loop, _ = make_loop([proposal(crew[0]["worker_id"])], Validator(BrokenRoster()), log)
    with pytest.raises(RuntimeError):
        loop.run(request(crew))
    (row,) = log.read()
    assert row["status"] == "error"


def test_unknown_kind_and_missing_roster_fail_before_asking(validator, log, crew) -> None:
    loop, provider = make_loop([], validator, log)
    with pytest.raises(InvalidInput):
        loop.run(request(crew, kind="tweet"))
    loop, provider = make_loop([], Validator(None), log)
    with pytest.raises(Unavailable):
        loop.run(request(crew))
    assert provider.calls == [] and not log.path.exists()


def test_email_kind(validator, log) -> None:
    email = {"to": "dana@example.com", "subject": "Monday", "body": "Shift starts at 7."}
    loop, _ = make_loop(["{{not json", json.dumps(email)], validator, log)
    result = loop.run(IterateRequest(model="m", kind="email", prompt="Write it"))
    assert result.accepted and result.grounded_in_roster is None and result.attempts == 2
    assert log.read()[0]["grounded_in_roster"] is None


def test_through_the_router_with_an_injected_provider(validator, log, crew) -> None:
    provider = ScriptedProvider([proposal(crew[0]["worker_id"])])
    chat = ChatRouter(ChatConfig(), providers={"scripted": provider}, environ={})
    loop = IterateLoop(chat, validator, log)
    result = loop.run(request(crew, model="scripted/qwen3"), trace_id="abc")
    assert result.accepted and result.model == "scripted/qwen3"
    assert log.read()[0]["attempts"][0]["provider"] == "scripted"


def test_through_a_local_ollama_server(validator, log, crew) -> None:
    server = FakeServer()
    server.then(200, ollama_answer(proposal("W7777777")))
    server.then(200, ollama_answer(proposal(crew[0]["worker_id"])))
    try:
        chat = ChatRouter(ChatConfig(ollama_host=server.url), environ={})
        result = IterateLoop(chat, validator, log).run(request(crew, model="qwen3:8b"))
    finally:
        server.close()
    assert result.accepted and result.attempts == 2
    assert "W7777777 is not in the roster" in server.requests[1]["json"]["messages"][-1]["content"]
    assert log.read()[0]["attempts"][1]["provider"] == "ollama"


def test_sessions_append_one_line_each_and_fsync(validator, log, crew, monkeypatch) -> None:
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd))[1])
    for n in range(3):
        loop, _ = make_loop([proposal(crew[0]["worker_id"])], validator, log)
        loop.run(request(crew), trace_id=f"t{n}")
    lines = log.path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["trace_id"] for line in lines] == ["t0", "t1", "t2"]
    assert len(synced) >= 3  # every append fsyncs the file (plus the directory once)


def test_reading_skips_torn_and_foreign_lines(log, tmp_path) -> None:
    log.append({"schema": SCHEMA, "session_id": "a"})
    with open(log.path, "a", encoding="utf-8") as fh:
        fh.write('{"schema": "other.v1"}\nnot json\n{"schema": "session.iterate.v1", "sess')
    assert [r["session_id"] for r in read_sessions(log.path)] == ["a"]
    assert list(read_sessions(tmp_path / "missing.jsonl")) == []


def test_log_write_failure_is_a_storage_error(tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StorageError):
        SessionLog(blocker / "sessions.jsonl").append({"schema": SCHEMA})


@pytest.mark.parametrize(
    "changes", [{"max_iter": 0}, {"max_iter": 11}, {"prompt": ""}, {"model": "a b"}, {"extra": 1}]
)
def test_request_bounds(crew, changes) -> None:
    with pytest.raises(ValidationError):
        request(crew, **changes)


def test_result_round_trips_to_json(validator, log, crew) -> None:
    loop, _ = make_loop([proposal(crew[0]["worker_id"])], validator, log)
    body = json.loads(json.dumps(loop.run(request(crew)).to_dict()))
    assert body["accepted"] is True and body["status"] == "accepted"
    assert set(body) == {
        "session_id", "trace_id", "model", "kind", "status", "attempts", "payload", "errors",
        "reason", "grounded_in_roster", "accepted",
    }  # fmt: skip


def test_runaway_replies_are_cut_in_the_log_and_the_next_turn(validator, log, crew) -> None:
    huge = "blah " * 40_000
    loop, provider = make_loop([huge, proposal(crew[0]["worker_id"])], validator, log)
    assert loop.run(request(crew)).accepted
    first, second = log.read()[0]["attempts"]
    assert first["raw_truncated"] is True and len(first["raw"]) == 100_000
    assert second["raw_truncated"] is False
    assert len(provider.calls[1]["messages"][2]["content"]) == 100_000
