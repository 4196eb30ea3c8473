"""The workflow runner: a YAML/JSON DAG of nodes, each calling a named mode.

WorkflowRunner(modes, emit=...)    check(doc) / run(doc, inputs, trace_id=) -> RunResult
references                         ${nodes.<node>.output.<path>}, ${inputs.<name>.<path>}
"""

from lakehouse.workflow.refs import Ref, parse_ref
from lakehouse.workflow.runner import Emit, ModeFn, NodeResult, RunResult, WorkflowRunner
from lakehouse.workflow.spec import NodeSpec, WorkflowLimits, WorkflowSpec, parse_workflow

__all__ = [
    "Emit",
    "ModeFn",
    "NodeResult",
    "NodeSpec",
    "Ref",
    "RunResult",
    "WorkflowLimits",
    "WorkflowRunner",
    "WorkflowSpec",
    "parse_ref",
    "parse_workflow",
]
