"""Traces as callers see them, their limits, and the input checks every write goes through."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from lakehouse.errors import InvalidInput, TooLarge
from lakehouse.jsonl import decode_line, dumps_compact, is_finite_number


@dataclass(frozen=True)
class PathwayLimits:
    """Bounds on one request; each is checked before anything changes.

    Attributes:
        max_content_bytes: UTF-8 size of a trace's content as compact JSON.
        max_depth: nesting depth of the content.
        max_tags: tags per trace; ``max_tag_chars`` bounds each tag.
        max_text_chars: length of a search text.
        max_k: results per search.
        max_uid_chars: length of a uid a caller may pass.
        max_line_bytes: one log line; longer lines are skipped at replay.
        max_history: traces walked by ``history`` before it stops and says so.
    """

    max_content_bytes: int = 64 * 1024
    max_depth: int = 32
    max_tags: int = 32
    max_tag_chars: int = 64
    max_text_chars: int = 4096
    max_k: int = 1000
    max_uid_chars: int = 64
    max_line_bytes: int = 1024 * 1024
    max_history: int = 1000


@dataclass(frozen=True)
class Trace:
    """One version of a trace. Every instance handed out owns a fresh copy of ``content``.

    ``updated_at`` is when this state began; ``version`` counts content versions (add,
    update, revert); retiring and replays change the state, not the version.
    """

    uid: str
    content: Any
    tags: tuple[str, ...]
    created_at: float
    updated_at: float
    predecessor: str | None
    replay_count: int
    retired: bool
    version: int

    def to_dict(self) -> dict[str, Any]:
        """The wire form (tags as a list)."""
        return {
            "uid": self.uid,
            "content": self.content,
            "tags": list(self.tags),
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "predecessor": self.predecessor,
            "replay_count": self.replay_count,
            "retired": self.retired,
            "version": self.version,
        }


@dataclass(frozen=True)
class History:
    """The versions of a trace and of its predecessors, newest first.

    ``complete`` is False when the walk stopped early: at a ``missing_predecessor`` (its
    events were lost), at a cycle (``cycle_at`` names the uid met twice), or after
    ``max_history`` traces (``truncated``).
    """

    uid: str
    entries: list[Trace]
    missing_predecessor: str | None = None
    cycle_at: str | None = None
    truncated: bool = False

    @property
    def complete(self) -> bool:
        return not (self.missing_predecessor or self.cycle_at or self.truncated)

    def to_dict(self) -> dict[str, Any]:
        return {
            "uid": self.uid,
            "entries": [t.to_dict() for t in self.entries],
            "complete": self.complete,
            "missing_predecessor": self.missing_predecessor,
            "cycle_at": self.cycle_at,
            "truncated": self.truncated,
        }


@dataclass(frozen=True)
class SearchHit:
    """A search result: the trace and its score (None when no text was given)."""

    trace: Trace
    score: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"trace": self.trace.to_dict(), "score": self.score}


def encode_content(content: Any, limits: PathwayLimits) -> str:
    """Compact JSON text of ``content``; ``InvalidInput`` if it is not JSON, ``TooLarge``."""
    _check_json_value(content, limits.max_depth)
    text = dumps_compact(content)
    size = len(text.encode("utf-8"))
    if size > limits.max_content_bytes:
        raise TooLarge(
            f"content is {size} bytes; the cap is {limits.max_content_bytes}",
            limit=limits.max_content_bytes,
        )
    return text


def parse_content(text: str | bytes) -> Any:
    """Parse raw JSON text as trace content; ``InvalidInput`` if it is not valid JSON."""
    try:
        return decode_line(text if isinstance(text, bytes) else text.encode("utf-8"))
    except ValueError as exc:
        raise InvalidInput(f"content is not valid JSON: {exc}") from None


def content_key(content_json: str) -> str:
    """Identity of content for add-idempotent: object key order does not matter."""
    canonical = json.dumps(
        json.loads(content_json), sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.blake2b(canonical.encode("utf-8"), digest_size=16).hexdigest()


def normalize_tags(tags: Any, limits: PathwayLimits) -> tuple[str, ...]:
    """Sorted unique tags; ``InvalidInput`` for anything but a list of short plain strings."""
    if tags is None:
        return ()
    if isinstance(tags, str | bytes) or not isinstance(tags, list | tuple | set | frozenset):
        raise InvalidInput("tags must be a list of strings")
    if len(tags) > limits.max_tags:
        raise InvalidInput(f"at most {limits.max_tags} tags", limit=limits.max_tags)
    for tag in tags:
        if not isinstance(tag, str) or not 0 < len(tag) <= limits.max_tag_chars:
            raise InvalidInput(f"each tag is a string of 1..{limits.max_tag_chars} characters")
        if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in tag):
            raise InvalidInput("a tag contains a control character")
    return tuple(sorted(set(tags)))


def check_uid(uid: Any, limits: PathwayLimits) -> str:
    if not isinstance(uid, str) or not 0 < len(uid) <= limits.max_uid_chars:
        raise InvalidInput(f"uid must be a string of 1..{limits.max_uid_chars} characters")
    return uid


def check_time(value: Any, name: str) -> float | None:
    if value is None:
        return None
    if not is_finite_number(value):
        raise InvalidInput(f"{name} must be a finite number of seconds since the epoch")
    return float(value)


def _check_json_value(value: Any, max_depth: int) -> None:
    # Iterative, so hostile nesting cannot exhaust the Python stack before the depth check.
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > max_depth:
            raise InvalidInput(f"content nests deeper than {max_depth}")
        if item is None or isinstance(item, str | bool | int):
            continue
        if isinstance(item, float):
            if not is_finite_number(item):
                raise InvalidInput("content is not valid JSON: NaN or Infinity")
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
        elif isinstance(item, dict):
            if not all(isinstance(k, str) for k in item):
                raise InvalidInput("content is not valid JSON: object keys must be strings")
            stack.extend((v, depth + 1) for v in item.values())
        else:
            raise InvalidInput(f"content is not valid JSON: {type(item).__name__} value")
