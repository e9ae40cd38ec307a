"""``from cortex_internal.lib.metrics import MetricsClient``: the type of the ``metrics_client`` that ``__init__`` gets.

The runtime builds it (cortex_runtime/custom_metrics.py); a predictor only calls its ``increment``, ``gauge`` and
``histogram``.
"""

from cortex_runtime.custom_metrics import MetricError, MetricsClient

__all__ = ["MetricsClient", "MetricError"]
