"""Cortex v0.30's model-caching example, as its docs describe it: several versions of one model on S3, the
version chosen by ``?version=``, "latest" when there is none. The model is a linear regression kept as JSON."""

import json
import os


class PythonPredictor:
    def __init__(self, config, python_client):
        self.client = python_client

    def load_model(self, model_path):
        with open(os.path.join(model_path, "linreg.json")) as f:
            return json.load(f)

    def predict(self, payload, query_params):
        name = "mpg-estimator"
        version = query_params.get("version", "latest")
        model = self.client.get_model(name, version)
        features = ["cylinders", "displacement", "horsepower", "weight", "acceleration"]
        mpg = model["intercept"] + sum(c * payload[f] for c, f in zip(model["coef"], features))
        return {"prediction": mpg, "model": {"name": name, "version": version}}
