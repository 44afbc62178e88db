"""The adaptive policy: a concurrency limit that finds the server's capacity from latency."""

from __future__ import annotations

import math
import time

from loopsafe._errors import ConfigError
from loopsafe.shed.policies import Policy

_OTHER = "(other)"  # routes past ``max_routes`` share one baseline


class Adaptive(Policy):
    """A concurrency limit that finds the server's capacity from observed latency (in the spirit
    of TCP Vegas and Netflix's Gradient2; docs/shedding.md describes it step by step).

    Each route keeps a baseline, its latency without queueing, which follows the route's fastest
    response per window: down at once, up only slowly. Each response counts as its latency over
    its route's baseline (its slowdown), so fast and slow routes mix freely. Per window of
    responses, with ``gradient = tolerance / median slowdown``, the new estimate is
    ``limit + sqrt(limit)`` when ``gradient >= 1`` (no queueing: probe for more, unless under
    half the limit was in use) and ``limit * max(gradient, 0.5)`` otherwise (queueing: back off
    in proportion); ``limit <- (1 - smoothing) * limit + smoothing * estimate``.

    Args:
        initial_limit: the limit before any measurement (default 20).
        min_limit: the limit never goes below this (default 2).
        max_limit: nor above this (default 1000).
        tolerance: how much slower than its baseline the median response may be before the
            limit shrinks (default 1.3).
        smoothing: weight of each window's new estimate (default 0.2).
        window_samples: a window closes after at least this many responses... (default 20)
        window_s: ...and at least this many seconds (default 0.05).
        baseline_s: time constant, in seconds, of a baseline's slow rise (default 60). A short
            one follows a downstream that really got slower sooner; a long one lets sustained
            overload raise the limit less.
        max_routes: routes with a baseline of their own; later ones share one (default 256).
    """

    name = "adaptive"

    def __init__(
        self,
        initial_limit: int = 20,
        *,
        min_limit: int = 2,
        max_limit: int = 1000,
        tolerance: float = 1.3,
        smoothing: float = 0.2,
        window_samples: int = 20,
        window_s: float = 0.05,
        baseline_s: float = 60.0,
        max_routes: int = 256,
    ) -> None:
        if not 1 <= min_limit <= initial_limit <= max_limit:
            raise ConfigError(
                "Adaptive() needs 1 <= min_limit <= initial_limit <= max_limit, got "
                f"{min_limit}, {initial_limit}, {max_limit}"
            )
        if tolerance < 1:
            raise ConfigError(f"Adaptive(tolerance=) must be at least 1, got {tolerance}")
        if not 0 < smoothing <= 1:
            raise ConfigError(f"Adaptive(smoothing=) must be in (0, 1], got {smoothing}")
        if window_samples < 1 or window_s < 0 or baseline_s <= 0 or max_routes < 1:
            raise ConfigError(
                "Adaptive() needs window_samples >= 1, window_s >= 0, baseline_s > 0 and "
                "max_routes >= 1"
            )
        self.min_limit = float(min_limit)
        self.max_limit = float(max_limit)
        self.tolerance = tolerance
        self.smoothing = smoothing
        self.window_samples = window_samples
        self.window_s = window_s
        self.baseline_s = baseline_s
        self.max_routes = max_routes
        self.estimate = float(initial_limit)
        self.baselines: dict[str, float] = {}
        self.slowdown: float | None = None  # the last window's median
        self._slowdowns: list[float] = []
        self._fastest: dict[str, float] = {}
        self._peak = 0  # most requests in flight during the window
        self._window_start = time.monotonic()

    def limit(self) -> float | None:
        return self.estimate

    def observe(self, latency: float, in_flight: int, key: str = "") -> None:
        if in_flight > self._peak:
            self._peak = in_flight
        baselines = self.baselines
        base = baselines.get(key)
        if base is None and len(baselines) >= self.max_routes:
            key = _OTHER
            base = baselines.get(key)
        if base is None:
            baselines[key] = latency  # a first guess: the next window corrects it downwards
        else:
            self._slowdowns.append(latency / max(base, 1e-6))
        fastest = self._fastest.get(key)
        if fastest is None or latency < fastest:
            self._fastest[key] = latency
        if len(self._slowdowns) < self.window_samples:
            return
        now = time.monotonic()
        elapsed = now - self._window_start
        if elapsed < self.window_s:
            return
        self._window_start = now
        self._close(elapsed)

    def _close(self, elapsed: float) -> None:
        slowdowns = sorted(self._slowdowns)
        median = slowdowns[len(slowdowns) // 2]
        peak = self._peak
        rise = min(1.0, elapsed / self.baseline_s)
        baselines = self.baselines
        for key, fastest in self._fastest.items():
            base = baselines[key]
            # The fastest response of a window is the best sign of the latency without
            # queueing: even under overload some requests find the loop free. Rise slowly:
            # under sustained overload every response is slow because of queueing, and a
            # baseline that followed it would let the limit, and latency, creep up.
            baselines[key] = fastest if fastest < base else base + (fastest - base) * rise
        self._slowdowns, self._fastest, self._peak = [], {}, 0
        self.slowdown = median
        limit = self.estimate
        gradient = self.tolerance / median
        if gradient >= 1.0:
            if peak < limit / 2:
                return  # the app used under half of the limit: no evidence it can take more
            target = limit + math.sqrt(limit)  # no queueing seen: probe for more capacity
        else:
            target = limit * max(0.5, gradient)  # queueing: back off in proportion
        limit = (1 - self.smoothing) * limit + self.smoothing * target
        self.estimate = max(self.min_limit, min(self.max_limit, limit))

    def __repr__(self) -> str:
        return f"Adaptive(limit={self.estimate:.1f}, slowdown={self.slowdown})"
