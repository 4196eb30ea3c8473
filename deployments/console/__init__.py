"""``/console``: a one-page console over the HTTP API, served from the package.

Plain HTML, CSS and ES modules (no build step, nothing from a CDN). The assets carry no data
and are served without auth; every data call the page makes goes to ``/v1/...`` with the
bearer token in a header, so the edge's rules apply to it as to any client.
"""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from fastapi.responses import Response

from lakehouse.errors import NotFound

router = APIRouter(include_in_schema=False)
STATIC = resources.files(__package__) / "static"
ASSETS = {
    "index.html": "text/html; charset=utf-8",
    "console.js": "text/javascript; charset=utf-8",
    "api.js": "text/javascript; charset=utf-8",
    "diff.js": "text/javascript; charset=utf-8",
    "console.css": "text/css; charset=utf-8",
}
# Scripts and styles from this origin only, no inline code, calls only back to this origin.
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


@router.get("/console")
async def console_page() -> Response:
    return _asset("index.html")


@router.get("/console/{name}")
async def console_asset(name: str) -> Response:
    if name not in ASSETS:
        raise NotFound(f"no console asset {name!r}")
    return _asset(name)


def _asset(name: str) -> Response:
    body = (STATIC / name).read_bytes()
    return Response(body, media_type=ASSETS[name], headers=HEADERS)
