"""Deterministic synthetic staffing data: worker profiles and labelled queries."""

from lakehouse.staffing.generate import COLUMNS, generate_batches, write_csv
from lakehouse.staffing.queries import LABELLED_QUERIES, write_queries

__all__ = ["COLUMNS", "LABELLED_QUERIES", "generate_batches", "write_csv", "write_queries"]
