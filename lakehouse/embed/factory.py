"""``open_embedder``: the embedder a config asks for."""

from __future__ import annotations

from lakehouse.embed.base import Embedder
from lakehouse.embed.config import EmbedConfig


def open_embedder(config: EmbedConfig | None = None) -> Embedder:
    """The embedder ``config`` names (``None``: the ``embed`` section of ``Settings()``).

    ``onnx`` exports its model into ``config.cache_dir`` on first use (tens of seconds,
    once per cache directory; torch is needed only then) and loads it in well under a
    second afterwards. ``ollama`` makes no request until the first embed.
    """
    if config is None:
        from lakehouse.settings import Settings  # Settings holds this module's config

        config = Settings().embed
    if config.backend == "ollama":
        from lakehouse.embed.ollama_embedder import OllamaEmbedder

        return OllamaEmbedder.from_config(config)
    from lakehouse.embed.onnx_embedder import OnnxEmbedder

    return OnnxEmbedder.open(config)
