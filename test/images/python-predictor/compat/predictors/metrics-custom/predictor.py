# Custom metrics as Cortex v0.30's docs use them (docs/workloads/realtime/metrics.md, "Custom user metrics",
# and docs/workloads/observability/metrics.md, "Pushing metrics"): metrics_client in __init__, then its
# increment, gauge and histogram, by keyword and by position.


class PythonPredictor:
    def __init__(self, config, metrics_client):
        self.metrics = metrics_client
        # One per process: with processes_per_replica > 1, /metrics must show them all.
        self.metrics.increment("predictor_starts", value=1, tags={"model": "v1"})

    def predict(self, payload):
        result = {"doubled": payload["value"] * 2}

        # increment a counter with name "my_counter" and tags model:v1
        self.metrics.increment(metric="my_counter", value=1, tags={"model": "v1"})

        # set the value for a gauge with name "my_gauge" and tags model:v1
        self.metrics.gauge(metric="my_gauge", value=payload["value"], tags={"model": "v1"})

        # set the value for an histogram with name "my_histogram" and tags model:v1
        self.metrics.histogram(metric="my_histogram", value=payload["latency"], tags={"model": "v1"})

        self.metrics.increment("model_calls", 1, tags={"model_version": "v1"})
        return result
