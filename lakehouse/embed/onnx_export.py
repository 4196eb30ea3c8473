"""The one-time export of an in-process model to ONNX, cached on disk.

The graph takes ``input_ids`` and ``attention_mask`` (int64, [batch, tokens]) and returns
``embedding`` ([batch, dim]): the transformer, mean pooling over the real tokens and L2
normalisation, all inside the graph. ``int8`` files then get onnxruntime's dynamic
quantisation of the MatMul weights, per output channel (per tensor lost too much: a mean
cosine of 0.94 against the torch model).

A file is ``<cache_dir>/<model>-<quantize>-<key>.onnx`` plus a ``.sha256`` sidecar; the key
hashes the package version and the export options, so a new package or a changed export
makes a new file. The model is written under a temp name and renamed, and the sidecar is
written last: a model without a matching sidecar is incomplete or corrupt and is made
again. A file lock keeps processes sharing the directory from exporting it twice.

torch and transformers are imported here only, and only when a file must be made.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from lakehouse.durable import fsync_dir
from lakehouse.embed.specs import OnnxModelSpec
from lakehouse.errors import LakehouseError, StorageError

log = logging.getLogger(__name__)

# Bump when this module changes what it writes, so caches made by older code are redone.
EXPORT_REVISION = 1
INPUTS = ("input_ids", "attention_mask")
OUTPUT = "embedding"
_STALE_TEMP_S = 3600.0


@dataclass(frozen=True)
class ExportOptions:
    """What shapes the exported file; every field is part of the cache key."""

    quantize: Literal["int8", "fp32"] = "int8"
    opset: int = 17

    def describe(self) -> dict[str, object]:
        quant = {"op_types": ["MatMul"], "per_channel": True, "weights": "int8"}
        return {
            "revision": EXPORT_REVISION,
            "opset": self.opset,
            "quantize": quant if self.quantize == "int8" else None,
        }


def cache_key(spec: OnnxModelSpec, options: ExportOptions) -> str:
    """A short hash of (model, package version, export options)."""
    payload = {"model": spec.name, "package": spec.distribution, "version": spec.version()}
    payload.update(options.describe())
    blob = json.dumps(payload, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def model_file(cache_dir: Path, spec: OnnxModelSpec, options: ExportOptions) -> Path:
    """Where the file for ``spec`` and ``options`` lives (whether or not it exists yet)."""
    stem = spec.name.lower().replace("/", "-")
    return Path(cache_dir) / f"{stem}-{options.quantize}-{cache_key(spec, options)}.onnx"


def ensure_model(cache_dir: Path, spec: OnnxModelSpec, options: ExportOptions) -> Path:
    """The path of an intact exported model, exporting it first if need be."""
    path = model_file(cache_dir, spec, options)
    if is_intact(path):
        return path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with _locked(path.with_name(path.name + ".lock")):
            if is_intact(path):  # another process made it while this one waited
                return path
            if path.exists():
                log.warning("cached model %s fails its checksum; exporting it again", path)
            _sweep_stale_temps(path.parent)
            _make(spec, options, path)
    except OSError as exc:
        raise StorageError(f"cannot export {spec.name} into {path.parent}: {exc}") from exc
    return path


def is_intact(path: Path) -> bool:
    """Whether ``path`` exists and matches the digest in its sidecar."""
    try:
        expected = _sidecar(path).read_text().strip()
        return bool(expected) and _sha256(path) == expected
    except OSError:
        return False


def invalidate(path: Path) -> None:
    """Mark ``path`` as bad (it would not load) so the next ``ensure_model`` remakes it."""
    _sidecar(path).unlink(missing_ok=True)


def build_onnx(spec: OnnxModelSpec, options: ExportOptions, dest: Path) -> None:
    """Export ``spec`` from torch to ``dest``, then quantise it if asked. The slow part."""
    if options.quantize == "fp32":
        _torch_export(spec, options.opset, dest)
        return
    fp32 = dest.with_name(dest.stem + ".fp32.onnx")
    _torch_export(spec, options.opset, fp32)
    _quantize(fp32, dest)


def _make(spec: OnnxModelSpec, options: ExportOptions, path: Path) -> None:
    started = time.perf_counter()
    log.info("exporting %s (%s) to %s, once", spec.name, options.quantize, path)
    work = Path(tempfile.mkdtemp(prefix=".export-", dir=path.parent))
    try:
        out = work / "model.onnx"
        build_onnx(spec, options, out)
        digest = _sha256(out, fsync=True)
        os.replace(out, path)
        side = work / "model.sha256"
        side.write_text(digest + "\n")
        os.replace(side, _sidecar(path))  # last: its presence says the model is complete
        fsync_dir(path.parent)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    log.info("exported %s in %.1f s", path.name, time.perf_counter() - started)


def _torch_export(spec: OnnxModelSpec, opset: int, dest: Path) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the weights are local; never ask the hub
    import warnings

    try:
        import torch
        from transformers import AutoModel
    except ImportError as exc:
        raise LakehouseError(
            f"exporting {spec.name} to ONNX needs torch and transformers ({exc}); install "
            "the project's dependencies, or copy an exported model into the cache directory"
        ) from exc

    # eager attention traces to plain ops onnxruntime runs everywhere
    model = AutoModel.from_pretrained(str(spec.model_dir()), attn_implementation="eager")
    pooled = _pooled_module(torch, model.eval())
    ids = torch.ones((2, 8), dtype=torch.int64)
    # a padded row in the sample: a mask of all ones could trace a "no mask needed" branch
    mask = torch.tensor([[1] * 8, [1] * 5 + [0] * 3], dtype=torch.int64)
    axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"}}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer and deprecation chatter, nothing actionable
        torch.onnx.export(
            pooled, (ids, mask), str(dest), dynamo=False, opset_version=opset,
            input_names=list(INPUTS), output_names=[OUTPUT],
            dynamic_axes={**axes, OUTPUT: {0: "batch"}},
        )  # fmt: skip


def _pooled_module(torch: Any, model: Any) -> Any:  # torch is imported lazily, so Any
    class Pooled(torch.nn.Module):
        """The transformer, then sentence-transformers' mean pooling and normalisation."""

        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            types = torch.zeros_like(input_ids)
            out = self.model(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=types).last_hidden_state  # fmt: skip
            weights = attention_mask.unsqueeze(-1).to(out.dtype)
            summed = (out * weights).sum(dim=1)
            mean = summed / weights.sum(dim=1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2.0, dim=1)

    return Pooled()


def _quantize(src: Path, dest: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(src), str(dest), op_types_to_quantize=["MatMul"], per_channel=True,
        weight_type=QuantType.QInt8,
    )  # fmt: skip


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _sha256(path: Path, fsync: bool = False) -> str:
    with open(path, "rb") as fh:
        if fsync:
            os.fsync(fh.fileno())
        return hashlib.file_digest(fh, "sha256").hexdigest()


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _sweep_stale_temps(cache_dir: Path) -> None:
    # temp dirs of an export killed midway; a live export finishes in well under an hour
    cutoff = time.time() - _STALE_TEMP_S
    for stale in cache_dir.glob(".export-*"):
        try:
            if stale.stat().st_mtime < cutoff:
                shutil.rmtree(stale, ignore_errors=True)
        except OSError:
            continue
