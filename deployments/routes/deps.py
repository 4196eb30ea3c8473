"""Route dependencies: the replica's ``Services``."""

from __future__ import annotations

from fastapi import Request

from actors.services import Services


def services(request: Request) -> Services:
    return request.app.state.services
