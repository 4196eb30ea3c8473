"""What the iterate loop says to the model: the task, the reply shape, the feedback."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

_SHAPES = {
    "fill": (
        '{"role": str, "location": "City, ST" (optional), "shift": "day" | "evening" | '
        '"night" | "weekend" | "rotating" (optional), "target_count": int, '
        '"candidates": [{"worker_id": "W0000123", "name": "First Last"}]}'
    ),
    "email": '{"to": "name@example.com", "subject": str, "body": str}',
    "sms": '{"to": "+1 555 555 0100", "body": str (at most 160 characters)}',
    "playbook": (
        '{"operation": "fill: <what is being filled>", "endorsed_names": [str], '
        '"target_count": int, "fingerprint": str}'
    ),
}

_RULES = {
    "fill": (
        "Propose only workers whose worker_id appears in the information you were given; "
        "never invent an id. Every candidate must match the role, location and shift, and "
        "be available. At most target_count candidates, each once."
    ),
    "email": "Fill in every detail; leave no placeholders. Never include an SSN.",
    "sms": "At most 160 characters; leave no placeholders. Never include an SSN.",
    "playbook": "Endorse at most twice target_count names, each once.",
}


def system_prompt(kind: str, pinned: Mapping[str, Any], extra: str | None = None) -> str:
    """The system message: answer with one JSON object of ``kind``'s shape."""
    parts = [
        "You answer with exactly one JSON object and nothing else: no prose, no Markdown.",
        f"Its shape: {_SHAPES[kind]}.",
        _RULES[kind],
    ]
    if pinned:
        fixed = json.dumps(dict(pinned), ensure_ascii=False)
        parts.append(f"These fields are fixed by the request; use them as given: {fixed}.")
    if extra:
        parts.append(extra)
    return "\n".join(parts)


def feedback_prompt(errors: Sequence[Mapping[str, Mapping[str, str]]]) -> str:
    """The user message after a rejected reply: each reason, then ask for a correction."""
    lines = ["Your reply was rejected:"]
    for error in errors:
        for category, body in error.items():
            field = f" ({body['field']})" if body.get("field") else ""
            lines.append(f"- {category}{field}: {body.get('reason', '')}")
    lines.append("Reply with one corrected JSON object only.")
    return "\n".join(lines)
