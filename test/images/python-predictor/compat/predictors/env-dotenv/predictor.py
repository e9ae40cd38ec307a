# A Cortex v0.30 Python predictor reading its environment, as its docs describe (predictors.md, "Project files":
# the project's `.env` file "exports environment variables that can be used in the predictor"; api
# configuration: predictor.env). The variables are there when __init__ runs.
import os
import tempfile


class PythonPredictor:
    def __init__(self, config):
        self.greeting = os.environ["GREETING"]

    def predict(self, payload):
        return {
            "greeting": self.greeting,
            "env": {name: os.getenv(name) for name in payload["names"]},
            "tempdir": tempfile.gettempdir(),
        }
