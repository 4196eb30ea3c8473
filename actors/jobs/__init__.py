"""Ray Data / Ray Jobs entry points (the only part of ``lakehouse/`` that imports Ray)."""
