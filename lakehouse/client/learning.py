"""Route groups of the learning loop: ``/v1/distill`` (evidence, replay) and ``/v1/drift``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from lakehouse.client.calls import Call
from lakehouse.client.groups import Group, drop_none


class Distill(Group):
    """``/v1/distill``: the service's logs as evidence datasets, and replays of sessions."""

    def materialize(self, transforms: Sequence[str] | None = None) -> dict[str, Any]:
        """Materialize the logs (all transforms, or ``transforms``); returns the receipt."""
        body = drop_none(transforms=None if transforms is None else list(transforms))
        return self._send(Call("POST", "/v1/distill/materialize", json=body, idempotent=False))

    def receipt(self, run_id: str) -> dict[str, Any]:
        return self._send(Call("GET", f"/v1/distill/receipts/{quote(run_id, safe='')}"))

    def replay(self, **body: Any) -> dict[str, Any]:
        """Replay ``sessions``, inline ``tasks`` or a task ``dataset`` (see ``ReplayRequest``:
        ``mode``, ``corpora``, ``k``, ``use_playbook``, ``bundle_k``, ``model``, ``tier``)."""
        call = Call("POST", "/v1/distill/replay", json=drop_none(**body), idempotent=False)
        return self._send(call)

    def compare(self, a: str, b: str) -> dict[str, Any]:
        """Two replay runs' figures per model, and ``b - a``."""
        return self._send(Call("POST", "/v1/distill/replay/compare", json={"a": a, "b": b}))


class Drift(Group):
    """``/v1/drift``: drift reports and the baselines they compare against."""

    def report(
        self,
        kind: str,
        a: Mapping[str, Any] | None = None,
        b: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> dict[str, Any]:
        """A report of ``kind`` (embedding, verdict, playbook, baseline) over windows ``a``
        and ``b`` (``{"dataset": name}`` or ``{"transform", "start", "end"}``); ``options``:
        ``baseline``, ``column``, ``sample``, ``seed``, ``corpus``, ``thresholds``."""
        body = drop_none(kind=kind, a=a, b=b, **options)
        return self._send(Call("POST", "/v1/drift/report", json=body))

    def save_baseline(self, name: str, window: Mapping[str, Any]) -> dict[str, Any]:
        """Save ``window``'s quality figures as baseline ``name``."""
        body = {"name": name, "window": dict(window)}
        return self._send(Call("POST", "/v1/drift/baselines", json=body, idempotent=False))

    def baseline(self, name: str) -> dict[str, Any]:
        return self._send(Call("GET", f"/v1/drift/baselines/{quote(name, safe='')}"))
