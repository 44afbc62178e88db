"""Module-level functions for the process-pool test (a worker process imports them)."""

from __future__ import annotations

import os


def pid_and_sum(n: int) -> tuple[int, int]:
    return os.getpid(), sum(range(n))
