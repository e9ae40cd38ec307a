class PythonPredictor:
    """The trivial predictor as a coroutine: served on the event loop, with no hand-off to a thread."""

    def __init__(self, config):
        pass

    async def predict(self, payload):
        return payload
