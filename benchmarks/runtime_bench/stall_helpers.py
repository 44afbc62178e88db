"""A sync helper in another module than the route that calls it (the ``helper`` scenario)."""

from __future__ import annotations

import time


def crunch(seconds: float) -> float:
    """Block for ``seconds`` and return how long it really blocked."""
    start = time.perf_counter()
    time.sleep(seconds)  # culprit: helper
    return time.perf_counter() - start
