"""Whose fault is a late loop: the rules of ``Spell.host_caused``."""

from __future__ import annotations

import threading
import time

import pytest

from loopsafe.runtime.schedstat import Spell, ThreadClock

T = 0.05  # threshold


@pytest.mark.parametrize(
    ("spell", "duration", "cause"),
    [
        # time.sleep(0.1) on the loop: off the CPU, not waiting for one: the app's.
        (Spell(loop_cpu=0.0, loop_wait=0.0, watchdog_gap=0.0), 0.1, None),
        # 100 ms of CPU on a host that doubled it: the app still held the loop 100 ms.
        (Spell(loop_cpu=0.1, loop_wait=0.1), 0.2, None),
        # Runnable the whole time, but no CPU given: the host's.
        (Spell(loop_cpu=0.002, loop_wait=0.29), 0.3, "starved"),
        # A little wait counted around a 60 ms sleep: still the app's.
        (Spell(loop_cpu=0.001, loop_wait=0.015), 0.06, None),
        # SIGSTOP or a VM pause: the watchdog was out as long, nobody used CPU or waited.
        (Spell(loop_cpu=0.0, loop_wait=0.0, watchdog_gap=0.38, watchdog_wait=0.0), 0.4, "frozen"),
        # C code holding the GIL: the watchdog could not run, but the loop was on the CPU.
        (Spell(loop_cpu=0.19, loop_wait=0.0, watchdog_gap=0.19), 0.2, None),
        # The watchdog starved too while the loop slept: not a freeze, a stall.
        (Spell(loop_cpu=0.0, loop_wait=0.0, watchdog_gap=0.2, watchdog_wait=0.18), 0.25, None),
    ],
)
def test_host_caused(spell: Spell, duration: float, cause: str | None) -> None:
    assert spell.host_caused(duration, T) == cause


def test_spells_add_up() -> None:
    spell = Spell(loop_cpu=0.01, loop_wait=0.02, watchdog_gap=0.03, watchdog_wait=0.0)
    spell.add(Spell(loop_cpu=0.01, loop_wait=0.01, watchdog_gap=0.01, watchdog_wait=0.005))
    assert spell == Spell(loop_cpu=0.02, loop_wait=0.03, watchdog_gap=0.03, watchdog_wait=0.005)


def test_thread_clock_reads_this_thread() -> None:
    clock = ThreadClock.open(threading.get_native_id())
    if clock is None:
        pytest.skip("no /proc schedstat on this system")
    first = clock.read()
    spin_until = time.thread_time() + 0.05
    while time.thread_time() < spin_until:  # 50 ms of CPU: several scheduler ticks
        pass
    # The kernel folds a running thread's CPU time into schedstat on a tick or a
    # context switch, not on read; sleeping forces the switch.
    time.sleep(0.005)
    second = clock.read()
    clock.close()
    assert first is not None and second is not None
    assert second[0] > first[0] and second[1] >= first[1]
    assert ThreadClock.open(2**31 - 1) is None  # no such thread
