class PythonPredictor:
    """DistilBERT sentiment, traced for a NeuronCore with torch-neuronx when the replica starts."""

    def __init__(self, config):
        import torch
        import torch_neuronx
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        name = config["model"]
        self.length = int(config.get("sequence_length", 128))
        self.tokenizer = AutoTokenizer.from_pretrained(name)
        model = AutoModelForSequenceClassification.from_pretrained(name, torchscript=True).eval()
        self.labels = model.config.id2label
        example = self._encode("warm up")
        # Compiling pins the input shape: every request is padded to sequence_length.
        self.model = torch_neuronx.trace(model, example)
        self.torch = torch

    def _encode(self, text):
        encoded = self.tokenizer(text, max_length=self.length, padding="max_length", truncation=True, return_tensors="pt")
        return encoded["input_ids"], encoded["attention_mask"]

    def predict(self, payload):
        with self.torch.no_grad():
            logits = self.model(*self._encode(payload["text"]))[0]
        return {"label": self.labels[int(logits.argmax(-1))], "score": float(logits.softmax(-1).max())}
