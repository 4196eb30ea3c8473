"""Text embedders behind one interface: in-process ONNX (the default) or Ollama.

    from lakehouse.embed import EmbedConfig, open_embedder

    embedder = open_embedder(EmbedConfig.from_env())   # LAKEHOUSE_EMBED_* variables
    docs = embedder.embed_documents(["forklift operator, OSHA certified", ...])
    query = embedder.embed_query(["who can drive a forklift at night?"])[0]

Every embedder returns float32 ``(n, embedder.dim)`` arrays with unit rows, so the dot
product is the cosine similarity. The backends import lazily: importing this package does
not load onnxruntime or the ollama client.
"""

from lakehouse.embed.base import Embedder, Kind, check_texts, normalise
from lakehouse.embed.config import EmbedConfig
from lakehouse.embed.factory import open_embedder

__all__ = ["EmbedConfig", "Embedder", "Kind", "check_texts", "normalise", "open_embedder"]
