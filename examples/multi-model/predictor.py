import os

from cortex_runtime import UserError

LABELS = ["setosa", "versicolor", "virginica"]
FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


class PythonPredictor:
    """Several models behind one API: `?model=NAME` (and `&version=N`) picks one.

    The runtime loads a model the first time it is asked for (through load_model below) and keeps at
    most multi_model_reloading.cache_size of them in memory, evicting the least recently used.
    """

    def __init__(self, config, python_client):
        self.client = python_client
        models_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "models")
        if not os.path.isdir(models_dir):
            # `python train.py` bakes them into the image; without them, train here (about a second).
            from train import train_all

            train_all(models_dir)

    def load_model(self, model_path):
        import joblib

        return joblib.load(os.path.join(model_path, "model.joblib"))

    def predict(self, payload, query_params):
        model = self.client.get_model(query_params.get("model"), query_params.get("version", "highest"))
        missing = [f for f in FEATURES if f not in payload]
        if missing:
            raise UserError(f"missing features: {', '.join(missing)}")
        label = model.predict([[float(payload[f]) for f in FEATURES]])[0]
        return {"model": query_params.get("model"), "class": LABELS[int(label)]}
