"""get_model as Cortex v0.30's models.md writes it: a name from ``?model=``, a version from ``?version=``
("latest" or a number), and ``get_model(name)`` alone for the highest version."""

import os


class PythonPredictor:
    def __init__(self, config, python_client):
        self.client = python_client

    def load_model(self, model_path):
        with open(os.path.join(model_path, "weights.txt")) as f:
            return f.read()

    def predict(self, payload, query_params):
        if "version" in query_params:
            model = self.client.get_model(query_params["model"], query_params["version"])
        else:
            model = self.client.get_model(query_params["model"])
        return {"weights": model}
