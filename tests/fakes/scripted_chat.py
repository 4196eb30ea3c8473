"""A provider that replays a script: for tests and demos, injected, never a default."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from lakehouse.chat.base import Messages
from lakehouse.chat.messages import ChatReply
from lakehouse.errors import LakehouseError


class ScriptedProvider:
    """Answers each call with the next scripted step: a reply text, or an error to raise.

    It records every conversation it was sent (``calls``), so a test can check what the
    iterate loop fed back. Running past the end of the script raises ``AssertionError``:
    a test that makes more calls than it planned should fail loudly.

    Args:
        script: reply texts (``str``) and errors (``LakehouseError`` instances), in order.
        name: the provider name put on replies.
    """

    def __init__(self, script: Iterable[str | LakehouseError], name: str = "scripted") -> None:
        self.name = name
        self._steps = list(script)
        self._lock = threading.Lock()
        self.calls: list[dict[str, Any]] = []

    def chat(self, model: str, messages: Messages) -> ChatReply:
        with self._lock:
            self.calls.append({"model": model, "messages": [dict(m) for m in messages]})
            if not self._steps:
                raise AssertionError(f"script exhausted after {len(self.calls) - 1} calls")
            step = self._steps.pop(0)
        if isinstance(step, LakehouseError):
            raise step
        return ChatReply(text=step, model=model, provider=self.name, provider_model=model)

    @property
    def remaining(self) -> int:
        return len(self._steps)
