class PythonPredictor:
    """Does nothing: what remains is the runtime's own cost per request."""

    def __init__(self, config):
        pass

    def predict(self, payload):
        return payload
