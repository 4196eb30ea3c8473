"""Workflow documents: YAML (or its JSON form) parsed, bounded and checked into a DAG.

    name: fill-night-shift          # optional
    nodes:
      - name: find
        mode: matrix.search
        inputs: {text: "${inputs.query}", k: 5}
      - name: check
        mode: validate
        inputs: {candidates: "${nodes.find.output.hits}"}
        after: [find]               # optional extra ordering, beyond references

Everything is checked before any node runs: size and node count, names, unknown keys,
references to nodes that do not exist, and cycles.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from lakehouse.errors import InvalidInput, TooLarge
from lakehouse.workflow.refs import NAME, refs_in

_TOP_KEYS = {"name", "description", "nodes"}
_NODE_KEYS = {"name", "mode", "inputs", "after", "description"}


@dataclass(frozen=True)
class WorkflowLimits:
    """Bounds on one workflow document."""

    max_bytes: int = 64 * 1024
    max_nodes: int = 64


@dataclass(frozen=True)
class NodeSpec:
    """One node: its ``mode`` is called with ``inputs`` resolved against earlier outputs."""

    name: str
    mode: str
    inputs: dict[str, Any]
    after: tuple[str, ...]
    input_refs: frozenset[str]


@dataclass(frozen=True)
class WorkflowSpec:
    """A checked DAG; ``order`` is a topological order (document order among equals)."""

    name: str
    nodes: dict[str, NodeSpec]
    order: tuple[str, ...]

    @property
    def run_inputs(self) -> frozenset[str]:
        """Names of run inputs the nodes reference."""
        return frozenset().union(*(n.input_refs for n in self.nodes.values()))


def parse_workflow(source: str | bytes | Mapping[str, Any], limits: WorkflowLimits) -> WorkflowSpec:
    """Check ``source`` (YAML/JSON text or the parsed mapping) into a ``WorkflowSpec``."""
    doc = source if isinstance(source, Mapping) else load_document(source, limits)
    if not isinstance(doc, Mapping):
        raise InvalidInput("a workflow is an object with a 'nodes' list")
    _no_unknown(doc, _TOP_KEYS, "workflow")
    raw_nodes = doc.get("nodes")
    if not isinstance(raw_nodes, list) or not raw_nodes:
        raise InvalidInput("workflow 'nodes' must be a non-empty list")
    if len(raw_nodes) > limits.max_nodes:
        raise TooLarge(f"at most {limits.max_nodes} nodes", limit=limits.max_nodes)
    nodes: dict[str, NodeSpec] = {}
    for raw in raw_nodes:
        node = _node(raw)
        if node.name in nodes:
            raise InvalidInput(f"node name {node.name!r} is used twice")
        nodes[node.name] = node
    name = doc.get("name", "workflow")
    if not isinstance(name, str) or not NAME.match(name):
        raise InvalidInput("workflow name must match [A-Za-z_][A-Za-z0-9_-]{0,63}")
    return WorkflowSpec(name=name, nodes=nodes, order=topological_order(nodes))


def load_document(source: str | bytes, limits: WorkflowLimits) -> Any:
    """Parse YAML (JSON is YAML) within ``limits.max_bytes``; aliases are refused."""
    raw = source.encode("utf-8") if isinstance(source, str) else source
    if len(raw) > limits.max_bytes:
        raise TooLarge(f"workflow is over {limits.max_bytes} bytes", limit=limits.max_bytes)
    try:
        if raw.lstrip()[:1] == b"{":
            return json.loads(raw)
        return yaml.load(raw, Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader subclass
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        raise InvalidInput(f"workflow is not valid YAML or JSON: {_first_line(exc)}") from None


def dependencies(node: NodeSpec) -> set[str]:
    """Nodes that must run before ``node``: those it references plus ``after``."""
    refs = {r.name for r in refs_in(node.inputs) if r.root == "nodes"}
    return refs | set(node.after)


def topological_order(nodes: dict[str, NodeSpec]) -> tuple[str, ...]:
    """Kahn's algorithm; ``InvalidInput`` naming unknown nodes or the nodes on a cycle."""
    position = {name: i for i, name in enumerate(nodes)}
    deps = {name: dependencies(node) for name, node in nodes.items()}
    for name, wanted in deps.items():
        unknown = sorted(wanted - nodes.keys())
        if unknown:
            raise InvalidInput(f"node {name!r} refers to unknown nodes {unknown}")
    waiting = {name: len(d) for name, d in deps.items()}
    users: dict[str, list[str]] = {name: [] for name in nodes}
    for name, wanted in deps.items():
        for dep in wanted:
            users[dep].append(name)
    ready = [(position[n], n) for n, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        _, name = heapq.heappop(ready)
        order.append(name)
        for user in users[name]:
            waiting[user] -= 1
            if waiting[user] == 0:
                heapq.heappush(ready, (position[user], user))
    if len(order) < len(nodes):
        stuck = sorted(set(nodes) - set(order), key=position.__getitem__)
        raise InvalidInput(f"workflow has a cycle among nodes {stuck}", nodes=stuck)
    return tuple(order)


def _node(raw: Any) -> NodeSpec:
    if not isinstance(raw, Mapping):
        raise InvalidInput("each node is an object with 'name' and 'mode'")
    _no_unknown(raw, _NODE_KEYS, f"node {raw.get('name')!r}")
    name, mode = raw.get("name"), raw.get("mode")
    if not isinstance(name, str) or not NAME.match(name):
        raise InvalidInput(f"node name {name!r} must match [A-Za-z_][A-Za-z0-9_-]{{0,63}}")
    if not isinstance(mode, str) or not mode:
        raise InvalidInput(f"node {name!r} needs a 'mode'")
    inputs = raw.get("inputs") or {}
    after = raw.get("after") or []
    if not isinstance(inputs, Mapping) or not all(isinstance(k, str) for k in inputs):
        raise InvalidInput(f"node {name!r}: 'inputs' must be an object")
    if not isinstance(after, list) or not all(isinstance(a, str) for a in after):
        raise InvalidInput(f"node {name!r}: 'after' must be a list of node names")
    refs = list(refs_in(inputs))  # parses every reference: a malformed one fails here
    run_inputs = frozenset(r.name for r in refs if r.root == "inputs")
    return NodeSpec(name, mode, dict(inputs), tuple(after), run_inputs)


def _no_unknown(obj: Mapping[str, Any], allowed: set[str], what: str) -> None:
    unknown = sorted(str(k) for k in obj if k not in allowed)
    if unknown:
        raise InvalidInput(f"{what} has unknown keys {unknown}; allowed: {sorted(allowed)}")


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__


class _NoAliasLoader(yaml.SafeLoader):
    """SafeLoader without anchors/aliases: a few bytes of aliases can expand to gigabytes."""

    def compose_node(self, parent, index):  # type: ignore[override]
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "YAML aliases are not accepted", event.start_mark
            )
        return super().compose_node(parent, index)
