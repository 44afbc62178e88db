"""A dead man's switch for the watchdog: a timer the loop keeps pushing back while it runs.

Polling the heartbeat from a thread costs the app more than it looks: every wake-up of the
watchdog takes the GIL from the loop and costs two context switches (measured here: about 0.5 ms
of the loop's CPU per wake-up under load, 2-3% of a busy worker's throughput at 50 polls/s).
With the alarm, the watchdog sleeps on a Linux ``timerfd`` that the heartbeat re-arms every so
often (see ``Heartbeat.rearm_every``) to fire ``after`` seconds later; while the loop keeps
ticking the timer never fires and the watchdog only wakes for its slow housekeeping. When the
loop stops ticking, the timer fires and the watchdog starts sampling within ``after`` of the
last tick.

``Alarm.open()`` returns None where there is no timerfd (not Linux, no libc): the watchdog then
polls as before.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import sys
import time
from collections.abc import Callable
from typing import Any

_CLOCK_MONOTONIC = 1  # the clock of time.monotonic() on Linux


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _Itimerspec(ctypes.Structure):
    _fields_ = [("it_interval", _Timespec), ("it_value", _Timespec)]


def _spec(seconds: float) -> _Itimerspec:
    spec = _Itimerspec()
    whole = int(seconds)
    spec.it_value.tv_sec = whole
    spec.it_value.tv_nsec = max(1, int((seconds - whole) * 1e9))  # 0 would disarm it
    return spec


class Alarm:
    """A one-shot monotonic timer: ``arm(seconds)`` (re)starts it, ``wait(timeout)`` sleeps
    until it fires or ``timeout`` passes. Arm from any thread; wait from one."""

    def __init__(self, fd: int, settime: Any, settime_unchecked: Any = None) -> None:
        self.fd = fd
        self._settime = settime
        # The same function without argument types, for ``pusher``: ctypes then converts
        # nothing (the arguments are two ints and prepared pointers).
        self._settime_unchecked = settime_unchecked or settime
        self._poller = select.poll()
        self._poller.register(fd, select.POLLIN)
        self.deadline = float("inf")  # when it fires next (time.monotonic()), inf when disarmed

    @classmethod
    def open(cls) -> Alarm | None:
        """A new alarm, or None where timerfd is not available."""
        if not sys.platform.startswith("linux"):
            return None
        try:
            # The symbols already loaded in this process (libc's among them); find_library
            # would run a subprocess, and this is called on the loop.
            libc = ctypes.CDLL(None, use_errno=True)
            create, settime = libc.timerfd_create, libc.timerfd_settime
        except (OSError, AttributeError):
            return None
        create.argtypes = (ctypes.c_int, ctypes.c_int)
        settime.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)
        fd = create(_CLOCK_MONOTONIC, os.O_NONBLOCK | os.O_CLOEXEC)
        if fd < 0:
            return None
        return cls(fd, settime, ctypes.CDLL(None).timerfd_settime)

    def arm(self, seconds: float) -> None:
        """Fire ``seconds`` from now (replaces any earlier setting). Costs one system call."""
        spec = _spec(seconds)  # one per call: the loop and the watchdog both arm it
        self.deadline = time.monotonic() + seconds
        self._settime(self.fd, 0, ctypes.byref(spec), None)

    def pusher(self, seconds: float) -> Callable[[float], None]:
        """``push(now)`` arms it to fire ``seconds`` after ``now`` (the caller's
        ``time.monotonic()``), like ``arm(seconds)`` at a third of the cost: the timer setting
        is built once. For the loop, which always pushes by the same delay; the ctypes work
        ``arm`` does each time cost it ~30 µs per push in a profile of a loaded server, where
        a rarely run code path misses every cache."""
        spec = _spec(seconds)
        pointer = ctypes.byref(spec)
        settime = self._settime_unchecked

        def push(now: float) -> None:
            self.deadline = now + seconds
            settime(self.fd, 0, pointer, None)  # a closed alarm's fd is -1: EBADF, ignored

        return push  # the pointer keeps the setting alive

    def wait(self, timeout: float) -> bool:
        """Sleep until the alarm fires (True) or ``timeout`` seconds pass (False)."""
        if not self._poller.poll(max(0, int(timeout * 1000))):
            return False
        with contextlib.suppress(BlockingIOError):  # re-armed since it fired: nothing to read
            os.read(self.fd, 8)
        return True

    def close(self) -> None:
        fd, self.fd = self.fd, -1
        if fd >= 0:
            with contextlib.suppress(OSError):
                os.close(fd)
