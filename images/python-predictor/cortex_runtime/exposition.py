"""The Prometheus text format's two writing rules the runtime's /metrics needs: label values and sample values."""

import math


def label_value(value: str) -> str:
    """A label value escaped for inside its double quotes (backslash, newline, quote)."""
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def sample_value(value: float) -> str:
    """A sample value: integers as written, infinities as +Inf/-Inf, other floats in Python's shortest form."""
    if isinstance(value, int):
        return str(value)
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))
