"""Durability helpers shared by everything that writes local files."""

from __future__ import annotations

import os
from pathlib import Path


def fsync_dir(directory: Path | str) -> None:
    """Make a rename or a new file in ``directory`` survive a crash (fsync the directory)."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
