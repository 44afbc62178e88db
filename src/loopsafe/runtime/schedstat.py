"""Telling a blocked loop from a starved one: the kernel's per-thread scheduler statistics.

A late heartbeat has three causes. The loop thread ran something long (CPU time grows), or
waited in a blocking call (neither grows, while the watchdog thread runs on), or the host did not
run it: runnable but not given a CPU (run-queue wait grows: an overloaded machine, CPU throttling)
or not runnable at all (SIGSTOP, a VM or container pause: nothing of the process runs, so the
watchdog thread is late too). Only the first two are the app's doing. Linux only; elsewhere
every late heartbeat counts as a stall.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass


class ThreadClock:
    """CPU and run-queue time of one thread of this process, from /proc (about 3 µs a read)."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    @classmethod
    def open(cls, native_id: int) -> ThreadClock | None:
        try:
            fd = os.open(f"/proc/self/task/{native_id}/schedstat", os.O_RDONLY)
        except OSError:
            return None
        clock = cls(fd)
        if clock.read() is None:
            clock.close()
            return None
        return clock

    def read(self) -> tuple[float, float] | None:
        """(seconds on a CPU, seconds runnable but waiting for one) since the thread started."""
        try:
            fields = os.pread(self._fd, 128, 0).split()
            return int(fields[0]) / 1e9, int(fields[1]) / 1e9
        except (OSError, IndexError, ValueError):
            return None

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._fd)


@dataclass(slots=True)
class Spell:
    """What the two threads did while the loop was late, summed over the watchdog's wake-ups."""

    loop_cpu: float = 0.0
    loop_wait: float = 0.0
    watchdog_gap: float = 0.0  # the longest the watchdog itself went without running
    watchdog_wait: float = 0.0

    def add(self, step: Spell) -> None:
        self.loop_cpu += step.loop_cpu
        self.loop_wait += step.loop_wait
        self.watchdog_gap = max(self.watchdog_gap, step.watchdog_gap)
        self.watchdog_wait += step.watchdog_wait

    def share(self, fraction: float) -> Spell:
        """This step with the loop's figures cut to ``fraction`` of them (the part of a step
        that fell inside a spell); the watchdog's own figures are kept whole."""
        return Spell(
            self.loop_cpu * fraction, self.loop_wait * fraction, self.watchdog_gap,
            self.watchdog_wait,
        )  # fmt: skip

    def host_caused(self, duration: float, threshold: float) -> str | None:
        """ "starved" or "frozen" when the loop would not have been late by ``threshold``
        without the host; else None: the app held the loop (on a CPU, or in a blocking call)
        that long itself, even if a busy host made it longer."""
        # The polls' windows reach a little outside the spell, so some wait is counted that was
        # not in it: only a spell mostly spent waiting for a CPU can be the host's.
        if self.loop_wait >= 0.5 * duration and duration - self.loop_wait < threshold:
            return "starved"
        frozen = (
            self.watchdog_gap >= 0.5 * duration
            and self.loop_cpu < 0.25 * duration
            and self.watchdog_wait < 0.25 * self.watchdog_gap
        )
        if frozen and duration - self.watchdog_gap < threshold:
            return "frozen"
        return None
