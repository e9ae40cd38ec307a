"""onnx_client.predict as Cortex v0.30's models.md writes it: model name and version from the query
("latest" or a number), or no version at all."""


class ONNXPredictor:
    def __init__(self, onnx_client, config):
        self.client = onnx_client

    def predict(self, payload, query_params):
        if "version" in query_params:
            return self.client.predict(payload, query_params["model"], query_params["version"])
        return self.client.predict(payload, query_params["model"])
