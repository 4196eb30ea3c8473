"""Object key rules shared by every backend (DESIGN.md, "Security")."""

from __future__ import annotations

from lakehouse.errors import InvalidInput

MAX_KEY_BYTES = 1024


def validate_key(key: str) -> str:
    """Return ``key`` if it is a safe object key, else raise ``InvalidInput``.

    Refused: empty, longer than 1024 UTF-8 bytes, a leading or trailing ``/``, an empty,
    ``.`` or ``..`` segment, a backslash, NUL or any control character.
    """
    if not key:
        raise InvalidInput("object key is empty")
    _check_common(key, "object key")
    if key.endswith("/"):
        raise InvalidInput("object key must not end with '/'")
    return key


def validate_prefix(prefix: str) -> str:
    """Like ``validate_key`` but an empty prefix and a trailing ``/`` are allowed."""
    if prefix:
        _check_common(prefix.rstrip("/") or "/", "prefix")
    return prefix


def _check_common(key: str, what: str) -> None:
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise InvalidInput(f"{what} is longer than {MAX_KEY_BYTES} bytes")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in key):
        raise InvalidInput(f"{what} contains NUL or a control character")
    if "\\" in key:
        raise InvalidInput(f"{what} contains a backslash")
    if key.startswith("/"):
        raise InvalidInput(f"{what} must not start with '/'")
    for segment in key.split("/"):
        if segment in ("", ".", ".."):
            raise InvalidInput(f"{what} has an empty, '.' or '..' segment")
