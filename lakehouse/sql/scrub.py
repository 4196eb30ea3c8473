"""Error messages without host paths: what ``/v1/sql`` may say about a failure."""

from __future__ import annotations

import re

# an absolute path (not the "/2" of "1/2"): what the scrubber replaces
_HOST_PATH = re.compile(r"(?<![\w)\]])/[^\s\"'`,;:()\[\]]+")


def scrub(message: str) -> str:
    """``message`` with every absolute path replaced by ``<path>``."""
    return _HOST_PATH.sub("<path>", message)
