"""The workflow runner: ordering, references, recording, explicit failure, refusals."""

from __future__ import annotations

import json

import pytest

from lakehouse.errors import InvalidInput, NotFound, TooLarge
from lakehouse.observer import ObserverRing
from lakehouse.workflow import WorkflowLimits, WorkflowRunner, parse_ref

PIPELINE = """
name: fill-shift
nodes:
  - name: check
    mode: validate
    inputs:
      candidates: "${nodes.find.output.hits}"
      note: "best is ${nodes.find.output.hits.0.uid}, literal $${kept}"
  - name: find
    mode: matrix.search
    inputs: {text: "${inputs.query}", k: 2}
"""


class Spy:
    """A registry of modes that records every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []

    def modes(self, **overrides):
        def search(inputs):
            self.calls.append(("matrix.search", inputs))
            return {"hits": [{"uid": "w1"}, {"uid": "w2"}][: inputs["k"]]}

        def validate(inputs):
            self.calls.append(("validate", inputs))
            return {"ok": len(inputs["candidates"]), "note": inputs["note"]}

        return {"matrix.search": search, "validate": validate, **overrides}


def test_a_successful_run_wires_outputs_and_records_each_node() -> None:
    spy, ring = Spy(), ObserverRing()
    runner = WorkflowRunner(spy.modes(), emit=ring.emit)
    run = runner.run(PIPELINE, {"query": "forklift"}, trace_id="trace-1")
    assert run.succeeded and run.failed_node is None and run.error is None
    assert [c[0] for c in spy.calls] == ["matrix.search", "validate"]  # dependency order
    assert spy.calls[0][1] == {"text": "forklift", "k": 2}
    assert run.outputs["check"] == {"ok": 2, "note": "best is w1, literal ${kept}"}
    assert [n.status for n in run.nodes] == ["succeeded", "succeeded"]
    nodes = list(reversed(ring.query(kind="workflow.node")))
    assert [e.data["node"] for e in nodes] == ["find", "check"]
    for event in nodes:
        assert event.trace_id == "trace-1" and event.data["status"] == "succeeded"
        assert event.data["duration_ms"] >= 0 and event.data["run_id"] == run.run_id
    (summary,) = ring.query(kind="workflow.run")
    assert summary.data["status"] == "succeeded" and summary.trace_id == "trace-1"
    assert json.loads(json.dumps(run.to_dict()))["status"] == "succeeded"


def test_a_failed_node_fails_the_run_and_later_nodes_do_not_run() -> None:
    def broken(inputs):
        raise NotFound("no index for corpus 'workers'")

    spy, ring = Spy(), ObserverRing()
    runner = WorkflowRunner(spy.modes(**{"matrix.search": broken}), emit=ring.emit)
    run = runner.run(PIPELINE, {"query": "x"})
    assert run.status == "failed" and not run.succeeded
    assert run.failed_node == "find"
    assert run.error == {"code": "not_found", "message": "no index for corpus 'workers'"}
    assert [(n.name, n.status) for n in run.nodes] == [("find", "failed"), ("check", "skipped")]
    assert spy.calls == [] and "find" not in run.outputs
    (event,) = ring.query(kind="workflow.node")
    assert event.data["status"] == "failed" and event.data["error"]["code"] == "not_found"
    assert ring.query(kind="workflow.run")[0].data["failed_node"] == "find"


def test_an_unexpected_exception_fails_without_leaking_its_message() -> None:
    def crash(inputs):
        raise RuntimeError("password=hunter2 at /srv/secret")

    run = WorkflowRunner(Spy().modes(validate=crash)).run(PIPELINE, {"query": "x"})
    assert run.failed_node == "check" and run.error["code"] == "internal"
    assert "hunter2" not in json.dumps(run.to_dict())


def test_a_mode_returning_a_non_object_fails_the_node() -> None:
    run = WorkflowRunner(Spy().modes(validate=lambda i: [1, 2])).run(PIPELINE, {"query": "x"})
    assert run.failed_node == "check" and run.error["code"] == "bad_output"


def test_a_reference_into_a_missing_key_fails_the_node_at_run_time() -> None:
    doc = {
        "nodes": [
            {"name": "a", "mode": "matrix.search", "inputs": {"text": "t", "k": 1}},
            {"name": "b", "mode": "validate", "inputs": {"candidates": "${nodes.a.output.nope}"}},
        ]
    }
    run = WorkflowRunner(Spy().modes()).run(doc)
    assert run.failed_node == "b" and run.error["code"] == "unprocessable"
    assert "nope" in run.error["message"]


def test_the_json_form_runs_like_the_yaml() -> None:
    doc = {"nodes": [{"name": "find", "mode": "matrix.search", "inputs": {"text": "t", "k": 1}}]}
    assert WorkflowRunner(Spy().modes()).run(json.dumps(doc)).succeeded
    assert WorkflowRunner(Spy().modes()).run(doc).outputs["find"]["hits"] == [{"uid": "w1"}]


def test_a_failing_emit_is_counted_and_the_run_still_succeeds() -> None:
    def emit(*args, **kwargs):
        raise ConnectionError("observer actor is restarting")

    runner = WorkflowRunner(Spy().modes(), emit=emit)
    assert runner.run(PIPELINE, {"query": "x"}).succeeded
    assert runner.emit_failures == 3


REFUSED = [
    ("unknown mode", PIPELINE.replace("validate", "llm.chat"), InvalidInput, "llm.chat"),
    (
        "cycle",
        {
            "nodes": [
                {"name": "a", "mode": "validate", "inputs": {"x": "${nodes.b.output}"}},
                {"name": "b", "mode": "validate", "inputs": {"x": "${nodes.a.output}"}},
                {"name": "c", "mode": "validate"},
            ]
        },
        InvalidInput,
        "cycle among nodes ['a', 'b']",
    ),
    (
        "self reference",
        {"nodes": [{"name": "a", "mode": "validate", "inputs": {"x": "${nodes.a.output}"}}]},
        InvalidInput,
        "cycle",
    ),
    (
        "unknown node",
        {"nodes": [{"name": "a", "mode": "validate", "inputs": {"x": "${nodes.zz.output}"}}]},
        InvalidInput,
        "unknown nodes ['zz']",
    ),
    (
        "unknown after",
        {"nodes": [{"name": "a", "mode": "validate", "after": ["zz"]}]},
        InvalidInput,
        "unknown nodes",
    ),
    (
        "bad reference",
        {"nodes": [{"name": "a", "mode": "validate", "inputs": {"x": "${foo}"}}]},
        InvalidInput,
        "bad reference",
    ),  # fmt: skip
    ("missing run input", PIPELINE, InvalidInput, "run inputs missing: ['query']"),
    ("duplicate name", {"nodes": [{"name": "a", "mode": "validate"}] * 2}, InvalidInput, "twice"),
    (
        "unknown key",
        {"nodes": [{"name": "a", "mode": "validate", "input": {}}]},
        InvalidInput,
        "unknown keys ['input']",
    ),  # fmt: skip
    ("no nodes", {"nodes": []}, InvalidInput, "non-empty"),
    ("not yaml", "nodes: [unclosed", InvalidInput, "not valid YAML"),
    ("not an object", "- just\n- a list\n", InvalidInput, "an object"),
    ("aliases", "x: &a [1]\nnodes: *a\n", InvalidInput, "aliases"),
    ("bad name", {"nodes": [{"name": "a b", "mode": "validate"}]}, InvalidInput, "node name"),
    (
        "too many nodes",
        {"nodes": [{"name": f"n{i}", "mode": "validate"} for i in range(65)]},
        TooLarge,
        "at most 64",
    ),  # fmt: skip
    ("too large", "nodes: []\n" + "#" * 70_000, TooLarge, "bytes"),
]


@pytest.mark.parametrize(("why", "doc", "error", "message"), REFUSED, ids=[r[0] for r in REFUSED])
def test_bad_workflows_are_refused_before_any_node_runs(why, doc, error, message) -> None:
    spy, ring = Spy(), ObserverRing()
    runner = WorkflowRunner(spy.modes(), emit=ring.emit)
    with pytest.raises(error, match=message.replace("[", r"\[").replace("]", r"\]")):
        runner.run(doc, {} if why == "missing run input" else {"query": "x"})
    assert spy.calls == [] and ring.query() == []


def test_limits_bound_size_and_node_count() -> None:
    runner = WorkflowRunner(Spy().modes(), limits=WorkflowLimits(max_bytes=100, max_nodes=1))
    with pytest.raises(TooLarge):
        runner.check(PIPELINE)
    with pytest.raises(TooLarge):
        runner.check({"nodes": [{"name": "a", "mode": "validate"}] * 2})


def test_reference_syntax() -> None:
    ref = parse_ref("nodes.find.output.hits.0.uid")
    assert (ref.root, ref.name, ref.path) == ("nodes", "find", ("hits", "0", "uid"))
    assert str(ref) == "${nodes.find.output.hits.0.uid}"
    assert parse_ref("inputs.query").root == "inputs"
    for bad in ("nodes.find", "nodes.find.outputs", "env.HOME", "inputs.a b"):
        with pytest.raises(InvalidInput):
            parse_ref(bad)
