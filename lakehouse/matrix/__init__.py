"""Matrix retrieval: one query over several corpora, merged, explained, and improved by
the playbook (recorded outcomes). Pure Python; the router it fans out over is injected.
"""

from lakehouse.matrix.cache import QueryCache
from lakehouse.matrix.engine import MatrixConfig, MatrixQuery, MatrixSearch
from lakehouse.matrix.fusion import FUSIONS, fuse
from lakehouse.matrix.playbook import Playbook, PlaybookConfig, Record
from lakehouse.matrix.prefilter import allow_list_sql, check_predicate

__all__ = [
    "FUSIONS",
    "MatrixConfig",
    "MatrixQuery",
    "MatrixSearch",
    "Playbook",
    "PlaybookConfig",
    "QueryCache",
    "Record",
    "allow_list_sql",
    "check_predicate",
    "fuse",
]
