"""The policies on their own: names, combinations, bad configuration, the adaptive limit's
response to latency, and the lag gate, with synthetic inputs (no clock-dependent assertion)."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any

import pytest
from fastapi import FastAPI

import loopsafe
from loopsafe._errors import ConfigError
from loopsafe.shed import Adaptive, Lag, ShedMiddleware, Static
from loopsafe.shed.policies import Combined, make_policy
from loopsafe.shed.shedder import Shedder


def test_names_objects_and_combinations() -> None:
    assert make_policy("static").name == "static"
    assert isinstance(make_policy("adaptive"), Adaptive)
    assert make_policy("static+lag").name == "static+lag"
    combined = Static(max_in_flight=5) | Lag(max_lag_ms=100) | Adaptive(initial_limit=3)
    assert isinstance(combined, Combined)
    assert combined.name == "static+lag+adaptive"
    assert combined.limit() == 3.0  # the lowest limit applies
    assert make_policy([Static(max_in_flight=2), "lag"]).name == "static+lag"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("fast", "unknown shedding policy 'fast'"),
        (42, "shedding policy must be a name"),
        ([], "shedding policy must be a name"),
    ],
)
def test_bad_policy_is_a_one_line_config_error(spec: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        make_policy(spec)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "build",
    [
        lambda: Static(max_in_flight=0),
        lambda: Static(queue=-1),
        lambda: Static(max_wait_s=0),
        lambda: Adaptive(initial_limit=1, min_limit=2),
        lambda: Adaptive(tolerance=0.5),
        lambda: Adaptive(smoothing=0),
        lambda: Lag(max_lag_ms=0),
        lambda: ShedMiddleware(lambda *a: None, "static", priorities={"/x": "urgent"}),
    ],
)
def test_bad_parameters_are_config_errors(build: Any) -> None:
    with pytest.raises(ConfigError):
        build()


def feed(
    policy: Adaptive, latency: float, in_flight: int, windows: int, fastest: float, key: str = ""
) -> None:
    """Close ``windows`` windows of route ``key``: each has one response at ``fastest`` and the
    rest at ``latency``; the window's time is not checked (window_s=0)."""
    for _ in range(windows):
        policy.observe(fastest, in_flight, key)
        for _ in range(policy.window_samples - 1):
            policy.observe(latency, in_flight, key)


def test_adaptive_grows_while_latency_stays_at_the_baseline() -> None:
    policy = Adaptive(initial_limit=10, window_s=0)
    feed(policy, 0.022, in_flight=1000, windows=20, fastest=0.021)
    assert policy.baselines[""] == pytest.approx(0.021)
    assert 20 < policy.estimate <= 1000  # about +sqrt(limit) * smoothing per window


def test_adaptive_does_not_grow_when_the_app_uses_little_of_the_limit() -> None:
    policy = Adaptive(initial_limit=40, window_s=0)
    feed(policy, 0.022, in_flight=3, windows=20, fastest=0.021)
    assert policy.estimate == 40


def test_adaptive_backs_off_when_latency_climbs_and_respects_min_limit() -> None:
    policy = Adaptive(initial_limit=50, min_limit=4, window_s=0)
    feed(policy, 0.022, in_flight=50, windows=2, fastest=0.020)
    start = policy.estimate
    feed(policy, 0.080, in_flight=50, windows=5, fastest=0.060)  # queueing: 4x the baseline
    assert policy.slowdown == pytest.approx(4.0, rel=0.1)  # the baseline rose a hair meanwhile
    assert policy.estimate < start * 0.7
    feed(policy, 0.200, in_flight=50, windows=100, fastest=0.150)
    assert policy.estimate == 4


def test_adaptive_baseline_rises_only_slowly_under_sustained_queueing() -> None:
    policy = Adaptive(initial_limit=20, window_s=0, baseline_s=3600)
    feed(policy, 0.021, in_flight=20, windows=1, fastest=0.020)
    feed(policy, 0.100, in_flight=20, windows=50, fastest=0.080)
    # Each window counts as its real (tiny) duration: the baseline has barely moved.
    assert policy.baselines[""] < 0.021


def test_adaptive_compares_each_route_with_its_own_baseline() -> None:
    """A 1 ms route next to a 22 ms one is not queueing: the limit must not collapse."""
    policy = Adaptive(initial_limit=10, window_s=0)
    for _ in range(20):
        feed(policy, 0.0011, in_flight=1000, windows=1, fastest=0.001, key="/health-ish")
        feed(policy, 0.022, in_flight=1000, windows=1, fastest=0.021, key="/items/{id}")
    assert policy.estimate > 20
    assert set(policy.baselines) == {"/health-ish", "/items/{id}"}


def test_adaptive_bounds_the_routes_it_tracks() -> None:
    policy = Adaptive(window_s=0, max_routes=2)
    for n in range(10):
        policy.observe(0.01, 1, f"/raw/{n}")
    assert set(policy.baselines) == {"/raw/0", "/raw/1", "(other)"}


class FakeHeartbeat:
    def __init__(self, lag: float) -> None:
        self.lags: deque[tuple[float, float]] = deque([(0.0, lag)])
        self.interval = 0.01
        self.ticks: list[Any] = []
        self.running = True

    def stuck_for(self) -> float:
        return 0.0  # "just ticked": nothing overdue

    def every_tick(self, fn: Any) -> None:
        self.ticks.append(fn)


def lag_policy(lag: float, draw: float) -> Lag:
    policy = Lag(max_lag_ms=50)
    heartbeat = FakeHeartbeat(lag)
    policy.start(heartbeat)
    for _ in range(30):  # let the smoothing converge on the heartbeat's lag
        for fn in heartbeat.ticks:
            fn()
    policy._random = lambda: draw
    return policy


def test_lag_admits_below_the_bound_and_ramps_up_above_it() -> None:
    assert lag_policy(0.040, draw=0.0).gate(1.0) is None
    # 75 ms against a 50 ms bound: rejected with probability 0.5.
    assert lag_policy(0.075, draw=0.49).gate(1.0) == "lag"
    assert lag_policy(0.075, draw=0.51).gate(1.0) is None
    assert lag_policy(0.120, draw=0.99).gate(1.0) == "lag"  # past twice the bound: always
    assert lag_policy(0.060, draw=0.0).gate(1.25) is None  # critical: a higher bound


def test_shedder_counts_every_decision() -> None:
    shedder = Shedder(Static(max_in_flight=1), prometheus=False)
    assert shedder.admit("normal") is None
    assert shedder.admit("normal") == "limit"
    assert shedder.admit("critical") is None  # 1 < 1 * 1.25
    shedder.release(0.01)
    shedder.release(None)
    snap = shedder.snapshot()
    assert snap["accepted"] == 2 and snap["rejected"] == 1 and snap["in_flight"] == 0
    assert snap["by_priority"]["critical"] == {"accepted": 1, "rejected": 0}


def test_install_rejects_a_bad_policy_at_install_time() -> None:
    with pytest.raises(ConfigError, match="unknown shedding policy 'fast'"):
        loopsafe.install(FastAPI(), shed="fast", prometheus=False)


async def _waiters_get_slots_by_class() -> list[str]:
    shedder = Shedder(Static(max_in_flight=4, queue=3, max_wait_s=5), prometheus=False)
    for priority in ("normal",) * 4 + ("critical",):  # critical has a reserve: 5 in flight
        assert shedder.admit(priority) is None
    order: list[str] = []

    async def wait(priority: str) -> None:
        assert shedder.admit(priority) == "wait"
        assert await shedder.wait(priority) is None
        order.append(priority)
        shedder.release(0.01)

    tasks = [asyncio.create_task(wait(p)) for p in ("low", "normal", "critical")]
    for _ in range(10):
        await asyncio.sleep(0)
    assert shedder.queued == 3
    assert shedder.admit("normal") == "queue_full"
    for _ in range(5):  # the first five requests finish, one at a time
        shedder.release(0.01)
        for _ in range(10):
            await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    assert shedder.in_flight == 0 and shedder.queued == 0
    return order


def test_a_freed_slot_goes_to_the_highest_class_waiting() -> None:
    assert asyncio.run(_waiters_get_slots_by_class()) == ["critical", "normal", "low"]


def test_lag_forgets_a_stall_once_the_loop_has_slept() -> None:
    """On the loop's iterations the heartbeat samples only while the loop is busy: an idle
    stretch must still bring the smoothed lag down, or the first request after it is shed."""
    from loopsafe.runtime.heartbeat import Heartbeat

    async def main() -> tuple[float, float]:
        policy = Lag(max_lag_ms=50)
        heartbeat = Heartbeat(asyncio.get_running_loop(), 0.01)
        heartbeat.start()
        assert heartbeat.on_iterations
        policy.start(heartbeat)
        await asyncio.sleep(0.02)
        time.sleep(0.15)  # noqa: ASYNC251 - a stall: the smoothed lag jumps
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        after_stall = policy.lag
        await asyncio.sleep(0.5)  # idle
        await asyncio.sleep(0)
        await asyncio.sleep(0.02)  # a little activity: a sample after the idle stretch
        heartbeat.stop()
        return after_stall, policy.lag

    after_stall, after_idle = asyncio.run(main())
    assert after_stall > 0.03
    assert after_idle < 0.005
