"""Where the service's records live, and how the materializer reads them line by line.

Inputs, each read by one transform:

==================  ==================================================  =================
transform           source objects                                      written by
==================  ==================================================  =================
sessions            ``logs/sessions.iterate/`` (store)                   the iterate loop
replay_runs         ``logs/replay_runs/`` (store)                        replay
observer_events     ``observer/events/*.jsonl`` (store)                  the observer ring
playbook_records    ``playbooks/<corpus>/<record>.json`` (store)        the playbook
pathway_events      ``pathway/snapshot/*.jsonl``, ``pathway/log/*.jsonl``  the pathway store
==================  ==================================================  =================

Sessions and replay rows are objects in the store (``ObjectStoreSessionLog``), a session or a
batch of rows each, written by the replicas, the replay route and job on any node; the
``<logs>/sessions.iterate.jsonl`` and ``<logs>/replay_runs.jsonl`` of older versions are read
too. Observer events are read where the ring stores them (its batches in the object store,
which any node can read); a ``<logs>/observer.jsonl`` left by an older version is read too.
An evidence id is a hash of the line, so a record in both places counts once. The ring keeps
its newest ``observer_capacity`` events, so a materializer run sees at most that many.
Local files are named ``logs/<file>``, store objects ``store:<key>``. Reading hashes every
byte (the receipt's checksum) and never holds more than one line: a line over
``max_line_bytes`` is consumed in pieces and reported as overlong.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from lakehouse.iterate.store_log import PREFIX as SESSION_PREFIX
from lakehouse.storage.base import ObjectStore

SESSION_LOG_FILE = "sessions.iterate.jsonl"  # written by versions before the object-store log
REPLAY_LOG_FILE = "replay_runs.jsonl"  # written by versions before the object-store log
REPLAY_PREFIX = "logs/replay_runs/"
OBSERVER_FILE = "observer.jsonl"  # written by versions before the object-store sink
OBSERVER_PREFIX = "observer/events/"  # lakehouse.observer.store_sink.PREFIX
PATHWAY_PREFIX = "pathway"  # actors.pathway.LOG_PREFIX
PLAYBOOK_PREFIX = "playbooks/"
_PIECE = 1 << 16


@dataclass(frozen=True)
class Input:
    """One source object and the transform that reads it."""

    name: str
    transform: str
    path: Path | None = None
    key: str | None = None

    def open(self, store: ObjectStore) -> IO[bytes]:
        if self.path is not None:
            return open(self.path, "rb")  # noqa: SIM115 - the caller closes it
        assert self.key is not None
        return open(store.local_path(self.key), "rb")  # noqa: SIM115


def discover(logs_dir: Path, store: ObjectStore, transforms: set[str]) -> list[Input]:
    """Every input present now for the chosen transforms, in a stable order."""
    files = {
        "sessions": [SESSION_LOG_FILE],
        "replay_runs": [REPLAY_LOG_FILE],
        "observer_events": [OBSERVER_FILE + ".1", OBSERVER_FILE],
    }
    found: list[Input] = []
    for transform, names in files.items():
        if transform in transforms:
            found += [
                Input(f"logs/{n}", transform, path=logs_dir / n)
                for n in names
                if (logs_dir / n).is_file()
            ]
    prefixes = {
        "sessions": [f"{SESSION_PREFIX}/"],
        "playbook_records": [PLAYBOOK_PREFIX],
        "pathway_events": [f"{PATHWAY_PREFIX}/snapshot/", f"{PATHWAY_PREFIX}/log/"],
        "observer_events": [OBSERVER_PREFIX],
        "replay_runs": [REPLAY_PREFIX],
    }
    for transform, keys in prefixes.items():
        if transform in transforms:
            for prefix in keys:
                found += [
                    Input(f"store:{o.key}", transform, key=o.key) for o in store.iter_all(prefix)
                ]
    return found


class HashedLines:
    """Lines of a binary file with their offsets, hashing every byte read.

    Yields ``(offset, line)`` where ``offset`` counts physical lines from 0 and ``line`` is
    None for a line longer than ``max_line_bytes`` (skipped, its bytes still hashed).
    Blank lines are not yielded but keep their offset.
    """

    def __init__(self, fh: IO[bytes], max_line_bytes: int) -> None:
        self.fh, self.max_line_bytes = fh, max_line_bytes
        self.sha = hashlib.sha256()
        self.size = 0
        self.lines = 0

    def __iter__(self) -> Iterator[tuple[int, bytes | None]]:
        while True:
            line = self._read(self.max_line_bytes + 1)
            if not line:
                return
            offset = self.lines
            self.lines += 1
            if len(line) > self.max_line_bytes and not line.endswith(b"\n"):
                self._skip_rest()
                yield offset, None
            elif line.strip():
                yield offset, line

    def _read(self, n: int) -> bytes:
        data = self.fh.readline(n)
        self.sha.update(data)
        self.size += len(data)
        return data

    def _skip_rest(self) -> None:
        while True:
            piece = self._read(_PIECE)
            if not piece or piece.endswith(b"\n"):
                return
