"""The pathway store: versioned JSON traces with full history, durable as a JSONL event log.

PathwayStore        add / add_idempotent / update / revise / retire / revert,
                    get / history (also as of a past time) / search, compact
EventLog            where the log lives (tests keep one in a local directory)
                    or ObjectStoreLog (one object per append, over any ObjectStore)
Trace, History, SearchHit, ReplayReport, PathwayLimits
"""

from lakehouse.pathway.log import EventLog, ReplayReport
from lakehouse.pathway.objlog import ObjectStoreLog
from lakehouse.pathway.semantic import Embedder
from lakehouse.pathway.store import PathwayStore
from lakehouse.pathway.trace import History, PathwayLimits, SearchHit, Trace, parse_content

__all__ = [
    "Embedder",
    "EventLog",
    "History",
    "ObjectStoreLog",
    "PathwayLimits",
    "PathwayStore",
    "ReplayReport",
    "SearchHit",
    "Trace",
    "parse_content",
]
