"""Ray actors: each owns one core object, restores it in ``__init__`` and exposes its methods."""

NAMESPACE = "lakehouse"
