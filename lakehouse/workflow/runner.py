"""Running a checked workflow: nodes in topological order, each recorded as one event."""

from __future__ import annotations

import copy
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from lakehouse.errors import InvalidInput, LakehouseError
from lakehouse.workflow.refs import resolve
from lakehouse.workflow.spec import NodeSpec, WorkflowLimits, WorkflowSpec, parse_workflow

log = logging.getLogger(__name__)

ModeFn = Callable[[dict[str, Any]], Mapping[str, Any]]
"""A mode: resolved inputs in, an output object out; raising fails the node."""
Emit = Callable[..., Any]
"""``emit(kind, data, trace_id=...)``, e.g. ``ObserverRing.emit`` or an actor call."""


@dataclass
class NodeResult:
    """What happened to one node: ``succeeded``, ``failed`` or ``skipped`` (never ran)."""

    name: str
    mode: str
    status: str = "skipped"
    started_at: float | None = None
    finished_at: float | None = None
    duration_ms: float | None = None
    error: dict[str, str] | None = None


@dataclass
class RunResult:
    """A run: ``status`` is ``succeeded`` only if every node succeeded.

    On failure ``failed_node`` and ``error`` say where and why, and the nodes after it are
    ``skipped``. ``outputs`` holds the output of each node that succeeded.
    """

    run_id: str
    workflow: str
    trace_id: str
    status: str
    started_at: float
    finished_at: float
    nodes: list[NodeResult]
    outputs: dict[str, Any] = field(default_factory=dict)
    failed_node: str | None = None
    error: dict[str, str] | None = None

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class WorkflowRunner:
    """Runs workflow documents against a registry of modes.

    A document is refused (``InvalidInput``, before any node runs) when it is malformed,
    too large, references unknown nodes or run inputs, has a cycle, or uses a mode the
    registry does not have. Each node that runs is recorded through ``emit`` as one
    ``workflow.node`` event, and the run as one ``workflow.run`` event; a failed emit is
    counted in ``emit_failures`` and never fails the run.

    Args:
        modes: ``{mode_name: callable(inputs) -> dict}``; only these modes can run.
        emit: where events go (None: nowhere).
        limits: document bounds.
        clock: wall time for timestamps; durations use ``time.perf_counter``.
    """

    def __init__(
        self,
        modes: Mapping[str, ModeFn],
        *,
        emit: Emit | None = None,
        limits: WorkflowLimits | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.modes = dict(modes)
        self.limits = limits or WorkflowLimits()
        self._emit = emit
        self._clock = clock
        self.emit_failures = 0

    def check(self, source: str | bytes | Mapping[str, Any]) -> WorkflowSpec:
        """Parse and check ``source`` without running it."""
        spec = parse_workflow(source, self.limits)
        missing = sorted({n.mode for n in spec.nodes.values()} - self.modes.keys())
        if missing:
            raise InvalidInput(
                f"modes not available: {missing}; available: {sorted(self.modes)}",
                missing=missing,
            )
        return spec

    def run(
        self,
        source: str | bytes | Mapping[str, Any],
        inputs: Mapping[str, Any] | None = None,
        *,
        trace_id: str | None = None,
    ) -> RunResult:
        """Check, then run every node in order until one fails."""
        if trace_id is not None and (not isinstance(trace_id, str) or not 0 < len(trace_id) <= 128):
            raise InvalidInput("trace_id must be a string of 1..128 characters")
        spec = self.check(source)
        run_inputs = _checked_inputs(inputs, spec)
        result = RunResult(
            run_id=uuid.uuid4().hex,
            workflow=spec.name,
            trace_id=trace_id or uuid.uuid4().hex,
            status="running",
            started_at=self._clock(),
            finished_at=0.0,
            nodes=[NodeResult(n, spec.nodes[n].mode) for n in spec.order],
        )
        started = time.perf_counter()
        for node_result in result.nodes:
            node = spec.nodes[node_result.name]
            if not self._run_node(node, node_result, result, run_inputs):
                result.failed_node, result.error = node.name, node_result.error
                break
        result.status = "failed" if result.failed_node else "succeeded"
        result.finished_at = self._clock()
        self._record_run(result, (time.perf_counter() - started) * 1000)
        return result

    def _run_node(
        self, node: NodeSpec, out: NodeResult, run: RunResult, inputs: Mapping[str, Any]
    ) -> bool:
        out.started_at = self._clock()
        started = time.perf_counter()
        try:
            resolved = copy.deepcopy(resolve(node.inputs, run.outputs, inputs))
            output = self.modes[node.mode](resolved)
            if not isinstance(output, Mapping):
                raise _BadOutput(
                    f"mode {node.mode!r} returned {type(output).__name__}, not an object"
                )
            run.outputs[node.name] = dict(output)
            out.status = "succeeded"
        except Exception as exc:  # a node's failure is the run's result, not a crash
            out.status, out.error = "failed", _error_of(exc, node)
        out.finished_at = self._clock()
        out.duration_ms = (time.perf_counter() - started) * 1000
        self._record(
            "workflow.node",
            {"run_id": run.run_id, "workflow": run.workflow, "node": node.name, "mode": node.mode}
            | {"status": out.status, "duration_ms": out.duration_ms}
            | ({"error": out.error} if out.error else {}),
            run.trace_id,
        )
        return out.status == "succeeded"

    def _record_run(self, run: RunResult, duration_ms: float) -> None:
        data = {"run_id": run.run_id, "workflow": run.workflow, "status": run.status}
        data |= {"duration_ms": duration_ms, "failed_node": run.failed_node}
        data["nodes"] = {n.name: n.status for n in run.nodes}
        if run.error:
            data["error"] = run.error
        self._record("workflow.run", data, run.trace_id)

    def _record(self, kind: str, data: dict[str, Any], trace_id: str) -> None:
        if self._emit is None:
            return
        try:
            self._emit(kind, data, trace_id=trace_id)
        except Exception:  # observation is best-effort: the run's outcome stands
            self.emit_failures += 1
            log.warning("could not record %s event for trace %s", kind, trace_id, exc_info=True)


class _BadOutput(Exception):
    """A mode answered with something other than an object."""


def _checked_inputs(inputs: Mapping[str, Any] | None, spec: WorkflowSpec) -> dict[str, Any]:
    if inputs is not None and (
        not isinstance(inputs, Mapping) or not all(isinstance(k, str) for k in inputs)
    ):
        raise InvalidInput("run inputs must be an object")
    given = dict(inputs or {})
    missing = sorted(spec.run_inputs - given.keys())
    if missing:
        raise InvalidInput(f"run inputs missing: {missing}", missing=missing)
    return given


def _error_of(exc: Exception, node: NodeSpec) -> dict[str, str]:
    if isinstance(exc, LakehouseError):
        return {"code": exc.code, "message": exc.message}
    if isinstance(exc, _BadOutput):
        return {"code": "bad_output", "message": str(exc)}
    # Unexpected errors may carry internals: the log gets them, the caller a plain message.
    log.error("workflow node %s (%s) raised", node.name, node.mode, exc_info=exc)
    return {"code": "internal", "message": f"mode {node.mode!r} raised {type(exc).__name__}"}
