import os

from cortex_runtime import UserError

LABELS = ["setosa", "versicolor", "virginica"]
FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


class PythonPredictor:
    def __init__(self, config):
        import joblib

        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), config.get("model", "model.joblib"))
        if not os.path.exists(path):
            # build.sh bakes it into the image; from a bare checkout, train here (well under a second).
            from train import train

            train(path)
        self.model = joblib.load(path)

    def predict(self, payload):
        missing = [f for f in FEATURES if f not in payload]
        if missing:
            raise UserError(f"missing features: {', '.join(missing)}")
        label = self.model.predict([[float(payload[f]) for f in FEATURES]])[0]
        return LABELS[int(label)]
