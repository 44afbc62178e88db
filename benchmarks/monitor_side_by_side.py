#!/usr/bin/env python3
"""Benchmark: the monitor's throughput cost, measured two servers at a time so host noise cancels.

``monitor_overhead.py`` runs the variants one after the other; on a shared virtual machine the
host's noise moves one variant's throughput by 10-25% from round to round, far more than the
cost being measured. Here each pair is two fresh uvicorn processes, the bare app and one
variant, with the same hash seed (it alone moves a process's speed by a few percent), both
pinned to CPU 0, loaded at the same time by two ``wrk`` (16 connections each)
pinned to CPU 1: whatever the host does hits both alike, and the ratio of their requests/s
moves by about 2% per pair. Each pair warms up for 1 s and measures for ``--duration`` s; the
report gives the median and mean ratio over ``--pairs`` pairs, and the spread.

Two things the ratio of requests/s mixes up are taken apart. The server started first, and
loaded first, did about 1.5% better than its twin (bare against bare, 6 pairs: 98.4%), so the
two swap places every other pair. And the two do not always get the same share of the CPU, so
each pair also reports CPU time per request (all the server's threads, from the kernel's
``schedstat``): the cost per request, apart from the share. The ``bare`` variant is the bare
app against itself: the method's own bias and spread, to read the other rows against.

Two loops sharing one CPU is not production (each gets about half of it, and the monitored
one's iterations are stretched by the other's time slices; the threshold is far above them), so the
sequential benchmark stays the reference for absolute throughput and latency; this one measures
the ratio. Run it from the repository root with the project's virtualenv
(``apt-get install wrk``)::

    python benchmarks/monitor_side_by_side.py --write-docs
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from dataclasses import dataclass

from runtime_bench import wrk
from runtime_bench.common import docs_argv, versions_line, write_section
from runtime_bench.overhead_report import PART_VARIANTS, VARIANTS, Variant
from runtime_bench.server import STACK_PACKAGES, STACKS, UvicornServer

SECTION_TITLE = "## monitor overhead, side by side"
# --stack standard writes its own section: the two stacks' tables are read next to each other.
SECTION_TITLES = {"stdlib": SECTION_TITLE, "standard": SECTION_TITLE + ", uvloop + httptools"}
CONNECTIONS = 16  # per server: 32 in all, as in the sequential benchmark


@dataclass(frozen=True)
class PairResult:
    bare_rps: float
    rps: float
    bare_cpu_us: float  # CPU time per request, all threads
    cpu_us: float


def _pair(
    variant: Variant,
    seconds: int,
    server_cpu: int,
    wrk_cpu: int,
    seed: int,
    swap: bool,
    stack: str = "stdlib",
) -> PairResult:
    """The bare app and the variant measured at the same time, both processes with the same
    hash seed; with ``swap`` the variant is started and loaded first."""
    bare = VARIANTS[0]
    seeded = {"PYTHONHASHSEED": str(seed)}
    first, second = (variant, bare) if swap else (bare, variant)
    with (
        UvicornServer(
            first.factory, cpu=server_cpu, env={**dict(first.env), **seeded}, stack=stack
        ) as a,
        UvicornServer(
            second.factory, cpu=server_cpu, env={**dict(second.env), **seeded}, stack=stack
        ) as b,
    ):
        servers = {"a": a, "b": b}
        out: dict[str, wrk.WrkResult] = {}
        errors: list[BaseException] = []

        def load(key: str, url: str, secs: int) -> None:
            try:
                out[key] = wrk.run(
                    url + "/json", seconds=secs, connections=CONNECTIONS, cpu=wrk_cpu
                )
            except BaseException as exc:  # re-raised in the main thread
                errors.append(exc)

        for secs in (1, seconds):  # warm-up, then the measurement
            ran = {k: srv.run_ns() for k, srv in servers.items()}
            threads = [
                threading.Thread(target=load, args=(k, srv.url, secs)) for k, srv in servers.items()
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            if errors:
                raise errors[0]
            ran = {k: srv.run_ns() - ran[k] for k, srv in servers.items()}
        cpu_us = {k: ran[k] / 1000 / max(1, out[k].requests) for k in servers}
        b_key, v_key = ("b", "a") if swap else ("a", "b")
        return PairResult(
            out[b_key].requests_per_s, out[v_key].requests_per_s, cpu_us[b_key], cpu_us[v_key]
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=20, help="pairs per variant (20)")
    parser.add_argument("--duration", type=int, default=4, help="seconds per measurement (4)")
    parser.add_argument(
        "--variants",
        default="bare,loopsafe,loopsafe-prometheus,instrumentator",
        help="comma-separated, compared with the bare app (bare: against itself, the control): "
        + ",".join(v.key for v in (*VARIANTS, *PART_VARIANTS)),
    )
    parser.add_argument(
        "--stack",
        default="stdlib",
        choices=tuple(STACKS),
        help="uvicorn's loop and HTTP parser: stdlib = asyncio + h11 (default), "
        "standard = uvloop + httptools (uvicorn[standard])",
    )
    parser.add_argument("--write-docs", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args(argv)
    if args.pairs < 1 or args.duration < 1:
        parser.error("--pairs and --duration must be >= 1")
    by_key = {v.key: v for v in (*VARIANTS, *PART_VARIANTS)}
    wanted = [k.strip() for k in args.variants.split(",") if k.strip()]
    unknown = [k for k in wanted if k not in by_key]
    if unknown:
        parser.error(f"unknown variants: {', '.join(unknown)}")
    if not wrk.available():
        print("wrk and taskset are needed: apt-get install -y wrk", file=sys.stderr)
        return 2
    if not {0, 1} <= os.sched_getaffinity(0):
        parser.error("CPUs 0 and 1 are needed")
    started = time.monotonic()
    rows = [
        "| variant | req/s, variant / bare: median | mean | sd per pair "
        "| CPU per request, variant / bare: median | sd per pair | pairs "
        "| bare req/s (median) | bare CPU µs/request (median) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for key in wanted:
        variant = by_key[key]
        ratios, costs, bares, bare_cpu = [], [], [], []
        for i in range(args.pairs):
            r = _pair(variant, args.duration, 0, 1, seed=i + 1, swap=i % 2 == 1, stack=args.stack)
            ratios.append(r.rps / r.bare_rps)
            costs.append(r.cpu_us / r.bare_cpu_us)
            bares.append(r.bare_rps)
            bare_cpu.append(r.bare_cpu_us)
            print(
                f"{key} pair {i + 1}: {r.bare_rps:.0f} vs {r.rps:.0f} req/s, "
                f"{r.bare_cpu_us:.0f} vs {r.cpu_us:.0f} µs CPU/request",
                file=sys.stderr,
            )
        label = "bare app (control: against itself)" if key == "bare" else variant.label
        rows.append(
            f"| {label} | {statistics.median(ratios):.1%} | {statistics.mean(ratios):.1%}"
            f" | {statistics.pstdev(ratios):.1%} | {statistics.median(costs):.1%}"
            f" | {statistics.pstdev(costs):.1%} | {len(ratios)}"
            f" | {statistics.median(bares):.0f} | {statistics.median(bare_cpu):.0f} |"
        )
    elapsed = (time.monotonic() - started) / 60
    print("\n".join(rows))
    if args.write_docs:
        command = "python benchmarks/monitor_side_by_side.py " + " ".join(
            docs_argv(sys.argv[1:] if argv is None else list(argv))
        )
        text = "\n".join(
            [
                SECTION_TITLES[args.stack],
                "",
                "Two fresh servers per pair (the bare app and the variant, with the same hash",
                "seed: the pair's number) share CPU 0 and are loaded at the same time by two",
                f"`wrk -t1 -c{CONNECTIONS}` on CPU 1, so host noise hits both alike (see the",
                "script's docstring for why and for the limits). They swap places every other",
                "pair. *CPU per request* is each server's CPU time (all threads, from",
                "`/proc/<pid>/task/*/schedstat`) over the requests it served: the cost apart",
                "from how the CPU was shared. The first row is the bare app against itself.",
                *(
                    [
                        "uvicorn runs on uvloop and httptools here (`--loop uvloop --http",
                        "httptools`, what `uvicorn[standard]` picks): the bare request costs about",
                        "half as much CPU as on asyncio and h11, so the same absolute cost of",
                        "the monitor is a larger share; on uvloop the heartbeat is the timer.",
                    ]
                    if args.stack == "standard"
                    else []
                ),
                *(
                    [
                        "The pass-through row is what any ASGI middleware costs at the least;",
                        "the `exempt` row is the monitor running (heartbeat, watchdog) with no",
                        "per-request work; the full monitor less that is the per-request work.",
                    ]
                    if "loopsafe-exempt" in wanted
                    else []
                ),
                "",
                f"Command: `{command.strip()}` ({elapsed:.1f} minutes).",
                "",
                *rows,
                "",
                versions_line(STACK_PACKAGES[args.stack]),
            ]
        )
        write_section(SECTION_TITLES[args.stack], text)
        print("updated docs/benchmarks.md", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
