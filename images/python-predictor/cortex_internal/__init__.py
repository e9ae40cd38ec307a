"""Cortex v0.30's import paths that predictors use, over cortex-cdk's runtime (cortex_runtime).

Cortex's own runtime package was ``cortex_internal``; its documentation has predictors import
``from cortex_internal.lib.log import logger``. This package provides that path (and
``cortex_internal.lib.metrics.MetricsClient``, the type of ``metrics_client``) so that those predictors run
unchanged; nothing else of Cortex's package is here.
"""
