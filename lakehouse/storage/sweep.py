"""Remove temp files a killed writer left behind.

A writer killed mid-PUT (or mid-upload, mid-ingest, mid-spill) leaves its temp file; nothing
else would ever remove it. A store sweeps them when it opens. Only files not modified for
``older_than_s`` are removed: a live writer touches its file as it writes, and the longest
quiet spell of one (an uploaded CSV waiting for its conversion) is far below the default
hour, so a sweep never takes a file from under a live writer in another process.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger(__name__)

# every temp name the service writes under the data dir's tmp/ (and the S3 cache)
TEMP_PATTERNS = ("put-*", "upload-*", "ingest-*", "duckdb/*.tmp", "**/.download-*")


def sweep_stale(
    directory: Path, older_than_s: float, patterns: Iterable[str] = TEMP_PATTERNS
) -> list[Path]:
    """Delete the files under ``directory`` matching ``patterns`` not modified for
    ``older_than_s`` seconds; returns what was deleted."""
    cutoff = time.time() - older_than_s
    removed = []
    for pattern in patterns:
        for path in Path(directory).glob(pattern):
            try:
                if path.is_file() and path.stat().st_mtime <= cutoff:
                    path.unlink()
                    removed.append(path)
            except FileNotFoundError:
                continue  # its writer finished (or another sweep got it) meanwhile
    if removed:
        log.warning("removed %d stale temp files under %s", len(removed), directory)
    return removed
