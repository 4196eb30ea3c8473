"""Drift: does today's data, or today's model behaviour, still match what was recorded?

DriftRequest / DriftThresholds   the wire model and its bounds (``report``)
DriftReporter                    reads the windows and runs one report (``reporter``)
Window                           a catalog dataset, or a range of evidence days (``windows``)
mmd_test, chi_square             the two-sample statistics (``stats``)
"""

from lakehouse.drift.report import DriftRequest, DriftThresholds
from lakehouse.drift.reporter import DriftReporter
from lakehouse.drift.stats import centroid_distance, chi_square, mmd_test
from lakehouse.drift.windows import Window, read_window

__all__ = [
    "DriftReporter",
    "DriftRequest",
    "DriftThresholds",
    "Window",
    "centroid_distance",
    "chi_square",
    "mmd_test",
    "read_window",
]
