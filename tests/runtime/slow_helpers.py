"""A sync helper in another module, called from an async route."""

from __future__ import annotations

import time


def crunch(seconds: float) -> float:
    time.sleep(seconds)  # culprit: helper
    return seconds
