"""Durable state of one shard in an object store: a write-ahead log and snapshots.

    <prefix>/wal/<seq:020d>.bin        one acknowledged write (add or delete), CRC-32 checked
    <prefix>/snap/<seq:020d>.hnsw      the hnswlib index as of write ``seq``
    <prefix>/snap/<seq:020d>.json      ids, metadata, parameters and the index's SHA-256;
                                       written last, so it is the snapshot's commit point

Segments are created with ``if_absent`` (a second writer on the same shard gets
``Conflict``, never a silent overwrite). Two snapshots are kept; the log is pruned only up
to the older one, so a corrupt newest snapshot still leaves a complete older state.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lakehouse.errors import LakehouseError, NotFound
from lakehouse.storage import ObjectStore

log = logging.getLogger(__name__)
MAGIC = b"LHW2"  # CRC-32
MAGIC_V1 = b"LHW1"  # SHA-256; still read
_SEQ = re.compile(r"/(\d{20})\.(bin|json|hnsw)$")


@dataclass
class WalRecord:
    op: str  # "add" | "delete"
    ids: list[str]
    vectors: np.ndarray | None = None
    metadata: list[dict[str, Any] | None] | None = None


@dataclass
class LoadReport:
    """What loading found: snapshot used, segments replayed, and anything skipped."""

    snapshot_seq: int = 0
    replayed: int = 0
    problems: list[str] = field(default_factory=list)

    def note(self, problem: str) -> None:
        log.error("vector shard load: %s", problem)
        self.problems.append(problem)


def encode(record: WalRecord) -> bytes:
    """``LHW2`` + CRC-32 of the body + body (a JSON header line, then the raw float32s).

    One copy of the vectors (the join); CRC-32 because a segment needs a check against
    torn or damaged writes, not a cryptographic digest (SHA-256 cost 4x more per batch).
    """
    header = {"op": record.op, "ids": record.ids, "metadata": record.metadata}
    payload: memoryview | bytes = b""
    if record.vectors is not None:
        vectors = np.ascontiguousarray(record.vectors, dtype=np.float32)
        header["shape"] = list(vectors.shape)
        payload = memoryview(vectors).cast("B")
    head = json.dumps(header, separators=(",", ":")).encode() + b"\n"
    crc = zlib.crc32(payload, zlib.crc32(head))
    return b"".join((MAGIC, crc.to_bytes(4, "big"), head, payload))


def decode(data: bytes) -> WalRecord:
    """A segment written by ``encode`` (or by the older SHA-256 format, ``LHW1``)."""
    view = memoryview(data)
    if data[:4] == MAGIC and len(data) >= 8:
        start = 8
        if zlib.crc32(view[start:]) != int.from_bytes(data[4:8], "big"):
            raise ValueError("checksum mismatch (torn or corrupt segment)")
    elif data[:4] == MAGIC_V1 and len(data) >= 36:
        start = 36
        if hashlib.sha256(view[start:]).digest() != data[4:36]:
            raise ValueError("checksum mismatch (torn or corrupt segment)")
    else:
        raise ValueError("not a WAL segment")
    end = data.find(b"\n", start)
    if end < 0:
        raise ValueError("segment has no header line")
    header = json.loads(data[start:end])
    vectors = None
    if "shape" in header:
        vectors = np.frombuffer(view[end + 1 :], dtype=np.float32).reshape(header["shape"])
    return WalRecord(header["op"], header["ids"], vectors, header.get("metadata"))


class ShardStorage:
    """The WAL and snapshots of one shard under ``prefix``."""

    def __init__(self, store: ObjectStore, prefix: str) -> None:
        self.store = store
        self.prefix = prefix.rstrip("/")

    def append(self, seq: int, record: WalRecord) -> int:
        """Durably log write ``seq`` before it is applied or acknowledged; returns its bytes."""
        data = encode(record)
        _put(self.store, self._wal(seq), data, if_absent=True)
        return len(data)

    def segments(self, after: int, report: LoadReport) -> Iterator[tuple[int, WalRecord]]:
        """Logged writes with ``seq > after`` in order; corrupt ones reported and skipped."""
        for obj in self.store.iter_all(f"{self.prefix}/wal/"):
            seq = _seq_of(obj.key)
            if seq is None or seq <= after:
                continue
            try:
                yield seq, decode(self.store.get(obj.key))
            except (ValueError, KeyError, json.JSONDecodeError) as exc:
                report.note(f"{obj.key}: skipped ({exc})")

    def last_seq(self) -> int:
        seqs = [_seq_of(o.key) for o in self.store.iter_all(f"{self.prefix}/wal/")]
        snaps = self.snapshot_seqs()
        return max([s for s in seqs if s is not None] + snaps + [0])

    def write_snapshot(self, seq: int, index_file: Path, state: dict[str, Any]) -> None:
        state = {**state, "seq": seq, "index_sha256": _sha256_file(index_file)}
        self.store.put_file(self._snap(seq, "hnsw"), index_file, consume=True)
        body = json.dumps(state, separators=(",", ":")).encode()
        _put(self.store, self._snap(seq, "json"), body)

    def snapshot_seqs(self) -> list[int]:
        keys = self.store.iter_all(f"{self.prefix}/snap/")
        return sorted({s for o in keys if (s := _seq_of(o.key)) is not None}, reverse=True)

    def load_snapshot(self, seq: int) -> tuple[Path, dict[str, Any]]:
        """The verified index file and state of snapshot ``seq``; ValueError if corrupt."""
        try:
            state = json.loads(self.store.get(self._snap(seq, "json")))
            path = self.store.local_path(self._snap(seq, "hnsw"))
        except (NotFound, json.JSONDecodeError) as exc:
            raise ValueError(f"snapshot {seq} is incomplete or unreadable") from exc
        if _sha256_file(path) != state.get("index_sha256"):
            raise ValueError(f"snapshot {seq}: index checksum mismatch")
        return path, state

    def prune(self) -> None:
        """Keep two snapshots; drop the log the older one covers and anything older."""
        snaps = self.snapshot_seqs()
        if len(snaps) < 2:
            return
        keep_from = snaps[1]
        for obj in list(self.store.iter_all(f"{self.prefix}/")):
            seq = _seq_of(obj.key)
            is_old_snap = "/snap/" in obj.key and seq is not None and seq < keep_from
            is_old_wal = "/wal/" in obj.key and seq is not None and seq <= keep_from
            if is_old_snap or is_old_wal:
                _delete_quietly(self.store, obj.key)

    def destroy(self) -> None:
        for obj in list(self.store.iter_all(f"{self.prefix}/")):
            _delete_quietly(self.store, obj.key)

    def _wal(self, seq: int) -> str:
        return f"{self.prefix}/wal/{seq:020d}.bin"

    def _snap(self, seq: int, ext: str) -> str:
        return f"{self.prefix}/snap/{seq:020d}.{ext}"


def _seq_of(key: str) -> int | None:
    match = _SEQ.search(key)
    return int(match.group(1)) if match else None


def _put(store: ObjectStore, key: str, data: bytes, *, if_absent: bool = False) -> None:
    """Internal writes are not bound by the per-object cap of the public storage API."""
    if len(data) <= store.max_object_bytes:
        store.put(key, data, if_absent=if_absent)
        return
    with tempfile.NamedTemporaryFile(delete=False) as fh:
        fh.write(data)
    store.put_file(key, Path(fh.name), if_absent=if_absent, consume=True)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def _delete_quietly(store: ObjectStore, key: str) -> None:
    try:
        store.delete(key)
    except LakehouseError as exc:  # pruning is best effort; the next prune retries
        log.warning("could not prune %s: %s", key, exc.message)
