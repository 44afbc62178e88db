#!/usr/bin/env python3
"""Benchmark: what the live dashboard costs a worker, with the monitor's buffers full.

The dashboard builds its data in a worker thread, never on the loop, but that thread holds the
GIL while it works, so its time is what the loop can lose. This fills a monitor to its bounds
(500 stall events with 40-frame stacks, 200 culprits, 100 routes with 512 latencies each, ten
minutes of per-second series, 6,000 heartbeat lags) and times each piece of work one open page
causes: the shared snapshot (once per 0.5 s however many pages are open), the first message of
a stream, each later message (a delta), a stack fetched on click, and ``GET .../api``.
``--write-docs`` updates the ``## dashboard cost`` section of ``docs/benchmarks.md``.

    python benchmarks/dashboard_cost.py --write-docs
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from runtime_bench.common import DOCS_PATH, docs_argv, machine_lines, versions, write_section

from loopsafe.runtime.dashboard.feed import Cursor, Feed
from loopsafe.runtime.monitor import Monitor
from loopsafe.runtime.stacks import MAX_FRAMES, Frame
from loopsafe.runtime.watchdog import StallEvent

SECTION_TITLE = "## dashboard cost"


def full_monitor() -> Monitor:
    monitor = Monitor(prometheus=False, log_stalls=False)
    agg = monitor.aggregate
    now = time.time()
    stack = tuple(Frame(__file__, 20 + i, f"frame_{i}") for i in range(MAX_FRAMES))
    for n in range(1, 501):
        culprit = Frame(__file__, 1000 + n % 200, f"culprit_{n % 200}")
        route = f"GET /route/{n % 100}"
        agg.add_stall(StallEvent(n, now - 600 + n, 0.12, route, f"req-{n}", "Task-1", culprit,
                                 culprit, stack, 6))  # fmt: skip
    for r in range(100):
        for i in range(512):
            agg.record_request(f"GET /route/{r}", 0.001 * (i % 50), False)
    for i in range(6000):
        agg.add_lag(now - 600 + i * 0.1, 0.0005 + (i % 7) * 0.0001)
    for s in range(600):
        agg.add_pool_sample(now - 600 + s, 40, s % 5, 0)
    return monitor


def timed(fn: Callable[[], Any], reps: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(reps):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=50, help="timed runs of each piece (50)")
    parser.add_argument("--write-docs", action="store_true", help="update docs/benchmarks.md")
    parser.add_argument("--docs", type=Path, default=DOCS_PATH, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    monitor = full_monitor()
    fresh = Feed(monitor, max_age=0)
    cached = Feed(monitor)
    cached.snapshot()
    _, (_, cursor) = timed(lambda: cached.message(Cursor()), 1)
    rows = [
        ("shared snapshot (at most every 0.5 s)", *timed(fresh.snapshot, args.reps), None),
        ("first message of a stream (200 stalls, series)", *timed(lambda: cached.message(Cursor()), args.reps), 0),
        ("each later message (delta)", *timed(lambda: cached.message(cursor), args.reps), 0),
        ("one stall with its stack (on click)", *timed(lambda: fresh.stall(250), args.reps), None),
        ("`GET .../api` (the whole snapshot)", *timed(fresh.full, args.reps), None),
    ]  # fmt: skip
    lines = [
        SECTION_TITLE,
        "",
        "What one open dashboard page costs a worker whose monitor buffers are full (500 stall "
        "events with 40-frame stacks, 200 culprits, 100 routes with 512 latencies each, 600 s of "
        "series). The work runs in a worker thread, never on the event loop, but holds the GIL, "
        "so its time is what the loop can lose. Each piece is timed in-process, median of "
        f"{args.reps} runs.",
        "",
        "```sh",
        "python " + " ".join(["benchmarks/dashboard_cost.py", *docs_argv(sys.argv[1:] if argv is None else list(argv))]),
        "```",
        "",
        "| work | median (ms) | bytes |",
        "| --- | ---: | ---: |",
    ]  # fmt: skip
    for label, seconds, result, index in rows:
        body = result[index] if index is not None else result
        size_text = "n/a" if isinstance(body, dict) else f"{len(body or b''):,}"
        lines.append(f"| {label} | {seconds * 1000:.2f} | {size_text} |")
    snapshot_ms, delta_ms = rows[0][1] * 1000, rows[2][1] * 1000
    lines += [
        "",
        f"One open page costs about {snapshot_ms + delta_ms:.1f} ms of a thread's time per "
        "second (a snapshot and a delta). The snapshot is shared, so more pages add a delta "
        f"each, and at most one more snapshot per second ({snapshot_ms * 2:.1f} ms in all). "
        "`GET .../api` serialises everything, stacks included: it is for scripts, not polling. "
        "The event loop itself only sends the bytes.",
        "",
        *machine_lines(versions()),
    ]
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    lines.insert(-1, f"- load average when it ended (1, 5, 15 min): {load}")
    markdown = "\n".join(lines)
    print(markdown)
    if args.write_docs:
        write_section(SECTION_TITLE, markdown, args.docs)
        print(f"updated {args.docs}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
