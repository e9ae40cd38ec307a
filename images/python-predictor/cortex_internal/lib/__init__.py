"""See ``cortex_internal``: ``log`` (the ``cortex`` logger) and ``metrics`` (``MetricsClient``)."""
