"""A recurrent numpy model whose cost is in reading its weights: one batch of 32 costs a few singles.

Each step multiplies the whole batch by one 2048 × 2048 matrix (16 MiB of float32). For one input
that is a matrix-vector product, bound by memory: the weights are read for a single row. A batch
reads them once for all its rows, so 32 inputs cost a few times one input, not 32 times; server-side
batching turns concurrent requests into such batches.
"""

import numpy as np

from cortex_runtime import UserError


class PythonPredictor:
    def __init__(self, config):
        self.input_size = int(config.get("input_size", 16))
        hidden = int(config.get("hidden_size", 2048))
        self.steps = int(config.get("steps", 16))
        classes = int(config.get("classes", 10))
        rng = np.random.default_rng(int(config.get("seed", 0)))
        # Random weights stand in for trained ones: the cost is what this example shows.
        self.w_in = rng.standard_normal((self.input_size, hidden), dtype=np.float32) / np.sqrt(self.input_size)
        self.w_state = rng.standard_normal((hidden, hidden), dtype=np.float32) / np.sqrt(hidden)
        self.w_out = rng.standard_normal((hidden, classes), dtype=np.float32) / np.sqrt(hidden)

    def predict(self, payload):
        # With server_side_batching, payload is the list of the gathered requests' payloads, and the
        # result must be the list of their predictions; without it (to compare), one payload.
        if not isinstance(payload, list):
            return self._predict_batch([payload])[0]
        return self._predict_batch(payload)

    def _predict_batch(self, payloads):
        inputs = np.array([self._features(p) for p in payloads], dtype=np.float32)
        state = np.tanh(inputs @ self.w_in)
        for _ in range(self.steps):
            state = np.tanh(state @ self.w_state)
        logits = state @ self.w_out
        probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        return [
            {"class": int(p.argmax()), "probability": round(float(p.max()), 4), "batch_size": len(payloads)}
            for p in probabilities
        ]

    def _features(self, payload):
        features = payload.get("features") if isinstance(payload, dict) else None
        if not isinstance(features, list) or len(features) != self.input_size:
            raise UserError(f"the payload must be {{\"features\": [{self.input_size} numbers]}}")
        return features
