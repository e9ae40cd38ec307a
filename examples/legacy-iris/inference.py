"""kind: api, first form: module-level init() and predict(), as Cortex 0.10 ran them.

The model is a nearest-centroid classifier: the mean of each iris class (from the iris dataset), read
from the file metadata names. One replica handles one request at a time, so module globals are safe.
"""
import json
import math
import os

model = {}


def init(metadata):
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), metadata["centroids"])
    with open(path) as f:
        model.update(json.load(f))


def predict(sample, metadata):
    features = [float(sample[name]) for name in model["features"]]
    label = min(model["centroids"], key=lambda c: math.dist(features, model["centroids"][c]))
    return {"label": label}
