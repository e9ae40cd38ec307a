"""Cortex v0.30's live-reloading example, as its docs describe it: one model (``models.path``) with versions,
``get_model`` by version only, "latest" unless the request names one."""

import json
import os


class PythonPredictor:
    def __init__(self, config, python_client):
        self.client = python_client

    def load_model(self, model_path):
        with open(os.path.join(model_path, "linreg.json")) as f:
            return json.load(f)

    def predict(self, payload, query_params):
        version = query_params.get("version", "latest")
        model = self.client.get_model(model_version=version)
        inputs = [payload["cylinders"], payload["displacement"], payload["horsepower"], payload["weight"],
                  payload["acceleration"]]
        mpg = model["intercept"] + sum(c * x for c, x in zip(model["coef"], inputs))
        return {"prediction": mpg, "model": {"version": version}}
