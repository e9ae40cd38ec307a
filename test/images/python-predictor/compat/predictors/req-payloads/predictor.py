# The payload types of Cortex v0.30's docs (docs/workloads/realtime/predictors.md, "API requests"), read the
# way its examples read them; what was read is sent back as JSON.
import pickle

from starlette.datastructures import FormData


class PythonPredictor:
    def __init__(self, config):
        pass

    def predict(self, payload):
        if isinstance(payload, FormData):
            read = {}
            for key, value in payload.items():
                if isinstance(value, str):  # form data (text)
                    read[key] = value
                elif key == "object":  # form data (files): pickle.load(payload["object"].file)
                    read[key] = pickle.load(value.file)
                else:
                    read[key] = value.file.read().decode("utf-8")
            return {"type": "FormData", "read": read}
        if isinstance(payload, bytes):  # binary data: obj = pickle.loads(payload)
            try:
                return {"type": "bytes", "read": pickle.loads(payload)}
            except Exception:
                return {"type": "bytes", "read": payload.decode("latin-1")}
        if isinstance(payload, str):  # text data: print(payload) prints "hello world"
            return {"type": "str", "read": payload}
        return {"type": type(payload).__name__, "read": payload["key"]}  # JSON data: payload["key"]
