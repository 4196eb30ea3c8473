"""Lakehouse on Ray: the core library (no Ray, no web stack; see docs/architecture.md)."""

__version__ = "0.1.0"
