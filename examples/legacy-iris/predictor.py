"""kind: api, second form: init(model_path, metadata) gets the local copy of predictor.model."""
import json
import math

from cortex_runtime import UserError

model = {}


def init(model_path, metadata):
    with open(model_path) as f:
        model.update(json.load(f))
    unknown = set(metadata["labels"]) - set(model["centroids"])
    if unknown:
        raise ValueError(f"labels not in the model: {sorted(unknown)}")


def predict(sample, metadata):
    missing = [name for name in model["features"] if name not in sample]
    if missing:
        raise UserError(f"missing features: {', '.join(missing)}")
    features = [float(sample[name]) for name in model["features"]]
    label = min(metadata["labels"], key=lambda c: math.dist(features, model["centroids"][c]))
    return {"label": label}
