"""The in-process embedder: an exported ONNX model run by onnxruntime on the CPU."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Encoding, Tokenizer

from lakehouse.embed.base import Embedder, Kind
from lakehouse.embed.config import EmbedConfig
from lakehouse.embed.onnx_export import OUTPUT, ExportOptions, ensure_model, invalidate
from lakehouse.embed.specs import OnnxModelSpec, onnx_spec
from lakehouse.errors import StorageError

log = logging.getLogger(__name__)


class OnnxEmbedder(Embedder):
    """A sentence-transformers model (all-MiniLM-L6-v2 by default) through onnxruntime.

    Texts are tokenised with the model package's own tokenizer and truncated at
    ``max_length`` tokens (a longer text is embedded from its beginning, never refused).
    They are sorted by length, cut into batches of ``batch_size`` padded to the longest
    text of the batch, and the batches run side by side on ``threads`` threads, one core
    each. Vectors come back in the order of the input. Thread-safe: the tokenizer and the
    onnxruntime session are both safe to share between threads.

    Build one with ``OnnxEmbedder.open(config)``, which exports and caches the model file.

    Args:
        spec: the model.
        model_path: its exported ONNX file (see ``lakehouse.embed.onnx_export``).
        variant: ``int8`` or ``fp32``, what the file holds (for reports).
        max_length: tokens kept per text, capped at the model's own limit.
        batch_size: texts per onnxruntime call.
        threads: calls run at once; ``None``: every core this process may use.
    """

    def __init__(
        self,
        spec: OnnxModelSpec,
        model_path: Path,
        *,
        variant: str = "int8",
        max_length: int = 256,
        batch_size: int = 1,
        threads: int | None = None,
    ) -> None:
        self.name, self.spec, self.variant = spec.name, spec, variant
        self.model_path = Path(model_path)
        self.batch_size = batch_size
        self.max_length = min(max_length, spec.max_length)
        self.threads = threads or usable_cores()
        self._tokenizer = load_tokenizer(spec.model_dir() / "tokenizer.json", self.max_length)
        self._session = _session(self.model_path)
        self._pool = (
            ThreadPoolExecutor(self.threads, thread_name_prefix="embed")
            if self.threads > 1
            else None
        )

    @classmethod
    def open(cls, config: EmbedConfig) -> OnnxEmbedder:
        """The embedder ``config`` asks for, exporting its model into the cache first if
        need be; a cached file that will not load is exported again, once."""
        spec = onnx_spec(config.model)
        options = ExportOptions(quantize=config.quantize)
        kwargs = {
            "variant": config.quantize,
            "max_length": config.max_length,
            "batch_size": config.batch,
            "threads": config.threads,
        }
        path = ensure_model(config.cache_dir, spec, options)
        try:
            return cls(spec, path, **kwargs)
        except StorageError as exc:
            log.warning("%s; exporting it again", exc)
            invalidate(path)
            return cls(spec, ensure_model(config.cache_dir, spec, options), **kwargs)

    @property
    def dim(self) -> int:
        return self.spec.dim

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def _embed(self, texts: list[str], kind: Kind) -> np.ndarray:
        # MiniLM is symmetric: queries and documents are embedded alike, so kind is unused
        encodings = self._tokenizer.encode_batch(texts)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        batches = _batches(encodings, self.batch_size)

        def work(share: list[list[int]]) -> None:
            for rows in share:
                out[rows] = self._run([encodings[i] for i in rows])

        if self._pool is None or len(batches) == 1:
            work(batches)
        else:
            # longest first, in small shares the threads take as they come free: a thread
            # that was preempted or drew long texts leaves the others idle at the end for
            # one short share at most
            batches.reverse()
            per = min(4, max(1, len(batches) // (self.threads * 16)))
            list(self._pool.map(work, [batches[i : i + per] for i in range(0, len(batches), per)]))
        return out

    def _run(self, encodings: Sequence[Encoding]) -> np.ndarray:
        ids, mask = pad(encodings)
        feeds = {"input_ids": ids, "attention_mask": mask}
        return self._session.run([OUTPUT], feeds)[0]


def load_tokenizer(path: Path, max_length: int) -> Tokenizer:
    """The model's tokenizer, truncating at ``max_length`` tokens and not padding.

    The bundled tokenizer.json pads every text to 128 tokens; ``pad`` pads each batch to
    its own longest text instead, which is most of the speed on short texts.
    """
    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length)
    return tokenizer


def pad(encodings: Sequence[Encoding]) -> tuple[np.ndarray, np.ndarray]:
    """``input_ids`` and ``attention_mask`` for one batch, padded to its longest text.

    The pad id is 0; its value does not matter, the mask keeps padding out of attention
    and out of the mean.
    """
    width = max(len(e.ids) for e in encodings)
    ids = np.zeros((len(encodings), width), dtype=np.int64)
    mask = np.zeros_like(ids)
    for row, encoding in enumerate(encodings):
        n = len(encoding.ids)
        ids[row, :n] = encoding.ids
        mask[row, :n] = 1
    return ids, mask


def usable_cores() -> int:
    """The cores this process may run on (its affinity mask, not the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _batches(encodings: Sequence[Encoding], size: int) -> list[list[int]]:
    # sorting by length keeps the padding in each batch small
    order = sorted(range(len(encodings)), key=lambda i: len(encodings[i].ids))
    return [order[i : i + size] for i in range(0, len(order), size)]


def _session(path: Path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    # one core per call: texts run side by side instead, which measured faster than one
    # call spread over every core, and keeps int8 vectors independent of each other
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped errors for a bad file
        raise StorageError(f"cannot load the ONNX model {path.name}: {exc}") from exc
