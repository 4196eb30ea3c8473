"""References in node inputs: ``${nodes.<node>.output.<path>}`` and ``${inputs.<name>.<path>}``.

``<path>`` is zero or more dot-separated object keys or list indices
(``${nodes.find.output.hits.0.uid}``); ``${nodes.find.output}`` is the whole output. A
string that is exactly one reference becomes the referenced value, whatever its type; a
reference inside a longer string is interpolated as text (JSON for non-strings). ``$${``
stands for a literal ``${``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from lakehouse.errors import InvalidInput, Unprocessable

_TOKEN = re.compile(r"\$\$\{|\$\{([^{}]*)\}")
_SEGMENT = re.compile(r"^[A-Za-z0-9_-]+$")
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")


@dataclass(frozen=True)
class Ref:
    """One parsed reference: ``root`` is ``"nodes"`` or ``"inputs"``."""

    root: str
    name: str
    path: tuple[str, ...]

    def __str__(self) -> str:
        middle = f"{self.name}.output" if self.root == "nodes" else self.name
        return "${" + ".".join([self.root, middle, *self.path]) + "}"


def parse_ref(body: str) -> Ref:
    """Parse the text between ``${`` and ``}``; ``InvalidInput`` if it is malformed."""
    parts = body.strip().split(".")
    if len(parts) >= 3 and parts[0] == "nodes" and parts[2] == "output":
        root, name, path = "nodes", parts[1], parts[3:]
    elif len(parts) >= 2 and parts[0] == "inputs":
        root, name, path = "inputs", parts[1], parts[2:]
    else:
        raise InvalidInput(
            f"bad reference ${{{body}}}: use ${{nodes.<node>.output...}} or ${{inputs.<name>...}}"
        )
    if not NAME.match(name) or not all(_SEGMENT.match(p) for p in path):
        raise InvalidInput(f"bad reference ${{{body}}}: names and keys are [A-Za-z0-9_-]")
    return Ref(root, name, tuple(path))


def refs_in(value: Any) -> Iterator[Ref]:
    """Every reference inside ``value`` (strings within nested objects and lists)."""
    if isinstance(value, str):
        for match in _TOKEN.finditer(value):
            if match.group(1) is not None:
                yield parse_ref(match.group(1))
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from refs_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from refs_in(item)


def resolve(value: Any, outputs: Mapping[str, Any], inputs: Mapping[str, Any]) -> Any:
    """``value`` with every reference replaced; ``Unprocessable`` if one leads nowhere."""
    if isinstance(value, str):
        return _resolve_string(value, outputs, inputs)
    if isinstance(value, Mapping):
        return {k: resolve(v, outputs, inputs) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, outputs, inputs) for v in value]
    return value


def _resolve_string(text: str, outputs: Mapping[str, Any], inputs: Mapping[str, Any]) -> Any:
    whole = _TOKEN.fullmatch(text)
    if whole and whole.group(1) is not None:
        return lookup(parse_ref(whole.group(1)), outputs, inputs)

    def substitute(match: re.Match[str]) -> str:
        if match.group(1) is None:
            return "${"
        found = lookup(parse_ref(match.group(1)), outputs, inputs)
        return found if isinstance(found, str) else json.dumps(found, default=str)

    return _TOKEN.sub(substitute, text)


def lookup(ref: Ref, outputs: Mapping[str, Any], inputs: Mapping[str, Any]) -> Any:
    source = outputs if ref.root == "nodes" else inputs
    if ref.name not in source:
        raise Unprocessable(f"{ref}: {ref.root[:-1]} {ref.name!r} has no value")
    current = source[ref.name]
    for key in ref.path:
        if isinstance(current, Mapping) and key in current:
            current = current[key]
        elif isinstance(current, list | tuple) and key.isdigit() and int(key) < len(current):
            current = current[int(key)]
        else:
            raise Unprocessable(f"{ref}: no {key!r} in {type(current).__name__}")
    return current
