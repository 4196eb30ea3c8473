"""Embedder configuration: which backend, which model, and how hard to push it.

The ``embed`` section of ``lakehouse.settings.Settings``: each field is read from
``LAKEHOUSE_EMBED_<FIELD>`` (or ``[embed]`` in the TOML file, or the Serve app's
``settings.embed``); the model cache defaults to ``<data_dir>/models`` and the Ollama host
to the shared ``LAKEHOUSE_OLLAMA_HOST``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_OLLAMA_MODEL = "nomic-embed-text"
DEFAULT_OLLAMA_HOST = "http://127.0.0.1:11434"
# Texts per onnxruntime call. For int8, one text per call (calls run side by side) is as
# fast as batches of 8-32 and the only deterministic choice: dynamic quantisation picks one
# activation scale per call, so in a batch a text's vector would shift with its batch
# mates and their padding (mean cosine to itself alone ~0.992). fp32 gains from batching.
DEFAULT_ONNX_BATCH = {"int8": 1, "fp32": 16}
DEFAULT_OLLAMA_BATCH = 32


class EmbedConfig(BaseModel):
    """Every embedder knob.

    Attributes:
        backend: ``onnx`` (in-process, the default) or ``ollama``.
        model: the model name; ``None`` picks the backend's default
            (``all-MiniLM-L6-v2`` / ``nomic-embed-text``).
        batch_size: texts per model call; ``None``: 1 for onnx int8, 16 for onnx fp32,
            32 for ollama.
        cache_dir: where the exported ONNX model files live.
        quantize: ``int8`` (MatMul weights, per channel) or ``fp32`` (identical to torch).
        max_length: tokens kept per text, capped at the model's own limit; longer texts
            are truncated, not refused.
        threads: onnx texts embedded in parallel; ``None``: every core this process may use.
        ollama_host, timeout_s, connect_timeout_s: where Ollama is and how long to wait.
        max_retries, backoff_s, backoff_max_s: retries of transient Ollama failures.
        dim: the Ollama model's width when it is not a known model (else asked once).
        query_prefix, document_prefix: override the model's own prefixes (Ollama).
        query_cache_entries: query vectors a replica keeps (an LRU; 0 turns it off).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    backend: Literal["onnx", "ollama"] = "onnx"
    model: str | None = Field(default=None, min_length=1, max_length=200)
    batch_size: int | None = Field(default=None, ge=1, le=1024)
    cache_dir: Path = Path("data/models")
    quantize: Literal["int8", "fp32"] = "int8"
    max_length: int = Field(default=256, ge=8, le=8192)
    threads: int | None = Field(default=None, ge=1, le=256)
    ollama_host: str = Field(default=DEFAULT_OLLAMA_HOST, min_length=1, max_length=500)
    timeout_s: float = Field(default=60.0, gt=0, le=600)
    connect_timeout_s: float = Field(default=5.0, gt=0, le=60)
    max_retries: int = Field(default=2, ge=0, le=10)
    backoff_s: float = Field(default=0.5, ge=0, le=30)
    backoff_max_s: float = Field(default=8.0, ge=0, le=120)
    dim: int | None = Field(default=None, ge=1, le=65536)
    query_prefix: str | None = Field(default=None, max_length=200)
    document_prefix: str | None = Field(default=None, max_length=200)
    query_cache_entries: int = Field(default=4096, ge=0, le=1_000_000)

    @property
    def model_name(self) -> str | None:
        """``model``, or the Ollama default (the onnx default is resolved by its spec)."""
        if self.model is None and self.backend == "ollama":
            return DEFAULT_OLLAMA_MODEL
        return self.model

    @property
    def batch(self) -> int:
        """``batch_size`` or the backend's default."""
        if self.batch_size is not None:
            return self.batch_size
        if self.backend == "onnx":
            return DEFAULT_ONNX_BATCH[self.quantize]
        return DEFAULT_OLLAMA_BATCH
