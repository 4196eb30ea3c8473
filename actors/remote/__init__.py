"""The remote plumbing: how the layers above reach actors (not actors themselves).

``Facade`` calls a plain object or an actor handle the same way; ``settle`` waits for a
fan-out under one deadline; ``CorpusRouter`` hashes ids to shards and fans searches out.
Code above types against the protocols in ``lakehouse.vectors.api``.
"""

from actors.remote.clients import RegistryClient, ShardClient
from actors.remote.corpus_router import CorpusRouter, local_router, remote_router, shard_of
from actors.remote.facade import LATE, Facade, settle, unwrap

__all__ = [
    "LATE",
    "CorpusRouter",
    "Facade",
    "RegistryClient",
    "ShardClient",
    "local_router",
    "remote_router",
    "settle",
    "shard_of",
    "unwrap",
]
