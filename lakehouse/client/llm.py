"""Route groups for the LLM safety net: chat, validators and the iterate loop."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lakehouse.client.calls import Call
from lakehouse.client.groups import Group, drop_none


class Chat(Group):
    """``/v1/chat``: one model reply (the provider is chosen by the model name)."""

    def send(self, model: str, messages: Sequence[Mapping[str, str]]) -> dict[str, Any]:
        body = {"model": model, "messages": [dict(m) for m in messages]}
        return self._send(Call("POST", "/v1/chat", json=body, idempotent=False))


class Validate(Group):
    """``/v1/validate``: a verdict on a fill, email, SMS or playbook payload."""

    def check(self, kind: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """The verdict, valid or not (the server's 422 for an invalid payload is an answer
        here, not an exception: read ``valid`` and ``errors``)."""
        body = {"kind": kind, "payload": dict(payload)}
        return self._send(Call("POST", "/v1/validate", json=body, ok=(422,)))


class Iterate(Group):
    """``/v1/iterate``: prompt → chat → extract → validate → feed errors back."""

    def run(
        self,
        model: str | None,
        kind: str,
        prompt: str,
        max_iter: int | None = None,
        pinned: Mapping[str, Any] | None = None,
        system: str | None = None,
        tier: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """One session; ``tier`` (``small_model``, ``strong_model``, ...) instead of ``model``
        lets the server's model-tier gate pick the model."""
        body = drop_none(model=model, kind=kind, prompt=prompt, max_iter=max_iter, system=system)
        if pinned is not None:
            body["pinned"] = dict(pinned)
        if tier is not None:
            body["tier"] = dict(tier)
        return self._send(Call("POST", "/v1/iterate", json=body, idempotent=False))
