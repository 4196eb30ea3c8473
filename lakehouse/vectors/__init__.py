"""Vector shards: hnswlib with string ids, metadata, filters and a durable write-ahead log."""

from lakehouse.vectors.filters import compile_filter
from lakehouse.vectors.shard import SearchResult, ShardConfig, VectorShard

__all__ = ["SearchResult", "ShardConfig", "VectorShard", "compile_filter"]
