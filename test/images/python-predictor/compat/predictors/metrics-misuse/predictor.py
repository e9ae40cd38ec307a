# metrics_client used wrongly: Cortex refused the names of its own metrics (cortex_*, istio_*) with an
# exception; the predictor catches what the client raises and answers with it.


class PythonPredictor:
    def __init__(self, config, metrics_client):
        self.metrics = metrics_client

    def predict(self, payload):
        calls = {
            "reserved": lambda: self.metrics.increment("cortex_requests_total", value=1),
            "name": lambda: self.metrics.gauge("requests per second", value=1),
            "value": lambda: self.metrics.gauge("queue_size", value="12"),
            "tags": lambda: self.metrics.increment("model_calls", tags={"model": None}),
            "negative": lambda: self.metrics.increment("model_calls", value=-1),
        }
        try:
            calls[payload["case"]]()
        except Exception as e:
            return {"error": type(e).__name__, "message": str(e)}
        return {"error": None}
