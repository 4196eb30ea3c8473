"""A shard's board: one small node-local file that says which state the live shard serves.

The shard's owner writes ``(incarnation, applied seq, snapshot seq)`` to it after every
applied write, before the write is acknowledged, and holds an exclusive ``flock`` on it for
as long as its process lives. A reader on the same machine (a Serve replica's read copy,
``lakehouse.vectors.follower``) learns from two system calls whether its copy is current:

- the record, read with ``pread`` and checked by its CRC (a torn read is read again);
- the lock: if the reader can take it, no live owner holds it, and the record is stale
  (a dead shard's, or one restarted on another machine), so it must not be trusted.

Nothing here is durable or shared between machines; the log in the object store is the
truth, the board only tells a reader how far into it the live shard has applied.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import struct
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

_RECORD = struct.Struct("<16sqq")  # incarnation (ascii, padded), applied seq, snapshot seq
_CHECKED = struct.Struct("<16sqqI")  # the record and its CRC-32
LOCK_TRIES = 100  # a reader holds the lock for microseconds; the owner retries meanwhile


@dataclass(frozen=True)
class BoardState:
    incarnation: str
    seq: int
    snapshot_seq: int


class BoardWriter:
    """The owner's side: takes the lock for the life of the process, then publishes."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = path
        # opened, never truncated or replaced: a reader's descriptor stays on this file
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        self.owned = _lock_exclusively(self._fd)

    def publish(self, state: BoardState) -> None:
        if not self.owned:  # another live process owns the board: it publishes, not us
            return
        record = _RECORD.pack(state.incarnation.encode()[:16], state.seq, state.snapshot_seq)
        os.pwrite(self._fd, record + zlib.crc32(record).to_bytes(4, "little"), 0)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._fd)


class BoardReader:
    """A reader's side: the live owner's state, or None (no board, no live owner, torn)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._next_open = 0.0

    def read(self) -> BoardState | None:
        fd = self._open()
        if fd is None:
            return None
        for _ in range(3):  # a record read while it was written fails its CRC: read again
            data = os.pread(fd, _CHECKED.size, 0)
            if len(data) != _CHECKED.size:
                return None
            *fields, crc = _CHECKED.unpack(data)
            if zlib.crc32(data[: _RECORD.size]) == crc:
                break
        else:
            return None
        if not _owner_alive(fd):
            return None
        incarnation, seq, snapshot_seq = fields
        return BoardState(incarnation.rstrip(b"\0").decode(), seq, snapshot_seq)

    def _open(self) -> int | None:
        if self._fd is None and time.monotonic() >= self._next_open:
            try:
                self._fd = os.open(self.path, os.O_RDONLY)
            except OSError:  # no owner on this machine (yet): look again in a second
                self._next_open = time.monotonic() + 1.0
        return self._fd

    def close(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None


def _lock_exclusively(fd: int) -> bool:
    for _ in range(LOCK_TRIES):
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            time.sleep(0.01)
    return False


def _owner_alive(fd: int) -> bool:
    """True while another process holds the exclusive lock (the owner is alive)."""
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    fcntl.flock(fd, fcntl.LOCK_UN)
    return False
