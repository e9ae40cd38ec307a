"""Streams an answer one token at a time, as a language model does, without a model to download.

The "model" is a table of which word follows which in a few sentences, built at start; the answer
continues the prompt's last word through that table. Each token waits ``delay_seconds`` first, like a
decoding step. ``predict`` is an async generator: the runtime sends each token as soon as it is yielded,
and stops it (``asyncio.CancelledError`` at its ``await``) when the client goes away.
"""

import asyncio
from collections import defaultdict

from cortex_runtime import UserError

TEXT = """
the model reads the prompt and writes the answer one token at a time .
each token reaches the client as soon as the model writes it .
the client reads the answer while the model is still writing .
a client that goes away stops the model and frees the replica for the next prompt .
"""


class PythonPredictor:
    def __init__(self, config):
        self.delay = float(config.get("delay_seconds", 0.1))
        self.max_tokens = int(config.get("max_tokens", 40))
        words = TEXT.split()
        self.next_words = defaultdict(list)
        for word, following in zip(words, words[1:]):
            self.next_words[word].append(following)

    async def predict(self, payload):
        if not isinstance(payload, dict) or not isinstance(payload.get("prompt"), str):
            raise UserError('send a JSON object with a "prompt" string, e.g. {"prompt": "the model"}')
        limit = payload.get("max_tokens", self.max_tokens)
        if not isinstance(limit, int) or not 1 <= limit <= self.max_tokens:
            raise UserError(f"max_tokens must be an integer from 1 to {self.max_tokens}, got {limit!r}")
        words = payload["prompt"].split()
        word = words[-1].lower() if words else "the"
        seen = defaultdict(int)
        for _ in range(limit):
            await asyncio.sleep(self.delay)
            choices = self.next_words.get(word) or self.next_words["the"]
            previous, word = word, choices[seen[word] % len(choices)]
            seen[previous] += 1
            yield word + " "
