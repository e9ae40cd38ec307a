# The response types of Cortex v0.30's docs ("API responses": a JSON-serializable object, a string, bytes, a
# starlette Response) and the errors its users raised (an HTTPException, Starlette's here: FastAPI's, which
# Cortex's image had, subclasses it; anything else is a 500).
from starlette.exceptions import HTTPException
from starlette.responses import Response


class PythonPredictor:
    def __init__(self, config):
        pass

    def predict(self, payload):
        kind = payload["return"]
        if kind == "json":
            return {"label": "class 1", "scores": [0.9, 0.1]}
        if kind == "string":
            return "class 1"
        if kind == "bytes":
            return bytes(4)
        if kind == "response":
            return Response(content="<b>class 1</b>", media_type="text/html", status_code=201)
        if kind == "http-error":
            raise HTTPException(status_code=422, detail="petal_length must be a number")
        raise RuntimeError("the model failed")
