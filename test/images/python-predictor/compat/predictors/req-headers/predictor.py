# headers and query_params as Cortex v0.30 passed them (Starlette's Headers and QueryParams): a header read by
# its usual spelling, a repeated query parameter read with getlist.
class PythonPredictor:
    def __init__(self, config):
        pass

    def predict(self, payload, query_params, headers):
        return {
            "content_type": headers["Content-Type"],
            "api_key": headers.get("X-Api-Key"),
            "model": query_params["model"],
            "tags": query_params.getlist("tag"),
        }
