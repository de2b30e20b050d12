"""Reading figure JSON as the browser gets it, for tests."""

from __future__ import annotations

import base64

import numpy as np


def numbers(value) -> list[float]:
    """A 1-D numeric array of figure JSON as floats: Plotly 7 writes base64 typed arrays (bytes and their dtype);
    a plain list may hold None for a gap (NaN here)."""
    if isinstance(value, dict) and "bdata" in value:
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"]).astype(float).tolist()
    return [float("nan") if item is None else float(item) for item in value]
