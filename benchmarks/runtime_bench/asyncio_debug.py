"""Honour ``PYTHONASYNCIODEBUG`` under uvicorn, which turns asyncio's debug mode off on Python 3.11.

uvicorn (0.54) runs its loop on Python 3.11 through a backport of ``asyncio.run`` whose ``debug``
defaults to False rather than None, so ``asyncio.Runner(debug=False)`` switches off the debug
mode that ``PYTHONASYNCIODEBUG=1`` (or ``python -X dev``) asked for; on 3.12+ uvicorn uses
``asyncio.run`` and the variable works. The benchmark apps call :func:`configure` from their
lifespan, in every variant, and it prints :data:`MARK` when debug mode is on, so the benchmark
can check it really measured asyncio in debug mode.
"""

from __future__ import annotations

import asyncio
import os
import sys

ENV = "PYTHONASYNCIODEBUG"
SLOW_CALLBACK_ENV = "LOOPSAFE_BENCH_SLOW_CALLBACK_S"
SLOWDOWN_ENV = "LOOPSAFE_BENCH_SLOWDOWN"  # set under valgrind: how much slower the server runs
MARK = "loopsafe-bench: asyncio debug mode is on"


def configure() -> None:
    """On the running loop: debug mode if the environment asks for it, and its threshold."""
    loop = asyncio.get_running_loop()
    if os.environ.get(ENV) and not loop.get_debug():
        loop.set_debug(True)
    slow = os.environ.get(SLOW_CALLBACK_ENV)
    if slow:
        loop.slow_callback_duration = float(slow)
    loop.slow_callback_duration *= float(os.environ.get(SLOWDOWN_ENV) or 1)
    if loop.get_debug():
        print(f"{MARK} (slow_callback_duration {loop.slow_callback_duration} s)", file=sys.stderr)
        sys.stderr.flush()
