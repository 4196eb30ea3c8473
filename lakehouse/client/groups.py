"""The base of every route group: it describes calls, the client it belongs to sends them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lakehouse.client.calls import Call


class Group:
    """One route family. Methods return what ``send`` returns: the parsed answer in
    ``Client``, an awaitable of it in ``AsyncClient``."""

    def __init__(self, send: Callable[[Call], Any], binary: bool = True) -> None:
        self._send = send
        self._binary = binary


def drop_none(**fields: Any) -> dict[str, Any]:
    """A JSON body without the fields left unset (the server applies its defaults)."""
    return {k: v for k, v in fields.items() if v is not None}
