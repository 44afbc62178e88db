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

from runtime_bench import wrk
from runtime_bench.common import docs_argv, versions, write_section, wrk_version
from runtime_bench.overhead_report import VARIANTS, Variant
from runtime_bench.server import UvicornServer

SECTION_TITLE = "## monitor overhead, side by side"
CONNECTIONS = 16  # per server: 32 in all, as in the sequential benchmark


def _pair(
    variant: Variant, seconds: int, server_cpu: int, wrk_cpu: int, seed: int
) -> tuple[float, float]:
    """(bare requests/s, variant requests/s), measured at the same time, both processes with
    the same hash seed."""
    bare = VARIANTS[0]
    seeded = {"PYTHONHASHSEED": str(seed)}
    with (
        UvicornServer(bare.factory, cpu=server_cpu, env={**dict(bare.env), **seeded}) as a,
        UvicornServer(variant.factory, cpu=server_cpu, env={**dict(variant.env), **seeded}) as b,
    ):
        out: dict[str, float] = {}
        errors: list[BaseException] = []

        def load(key: str, url: str, secs: int) -> None:
            try:
                out[key] = wrk.run(
                    url + "/json", seconds=secs, connections=CONNECTIONS, cpu=wrk_cpu
                ).requests_per_s
            except BaseException as exc:  # re-raised in the main thread
                errors.append(exc)

        for secs in (1, seconds):  # warm-up, then the measurement
            threads = [
                threading.Thread(target=load, args=(k, s.url, secs))
                for k, s in (("a", a), ("b", b))
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            if errors:
                raise errors[0]
        return out["a"], out["b"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=20, help="pairs per variant (20)")
    parser.add_argument("--duration", type=int, default=4, help="seconds per measurement (4)")
    parser.add_argument(
        "--variants",
        default="loopsafe,loopsafe-prometheus,instrumentator",
        help="comma-separated, compared with the bare app: "
        + ",".join(v.key for v in VARIANTS[1:]),
    )
    parser.add_argument("--write-docs", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args(argv)
    if args.pairs < 1 or args.duration < 1:
        parser.error("--pairs and --duration must be >= 1")
    by_key = {v.key: v for v in VARIANTS[1:]}
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
        "| variant | median of variant / bare | mean | sd per pair | pairs | bare req/s (median) |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for key in wanted:
        variant = by_key[key]
        ratios, bares = [], []
        for i in range(args.pairs):
            bare_rps, rps = _pair(variant, args.duration, 0, 1, seed=i + 1)
            ratios.append(rps / bare_rps)
            bares.append(bare_rps)
            print(f"{key} pair {i + 1}: {bare_rps:.0f} vs {rps:.0f} req/s", file=sys.stderr)
        rows.append(
            f"| {variant.label} | {statistics.median(ratios):.1%} | {statistics.mean(ratios):.1%}"
            f" | {statistics.pstdev(ratios):.1%} | {len(ratios)} | {statistics.median(bares):.0f} |"
        )
    elapsed = (time.monotonic() - started) / 60
    print("\n".join(rows))
    if args.write_docs:
        command = "python benchmarks/monitor_side_by_side.py " + " ".join(
            docs_argv(sys.argv[1:] if argv is None else list(argv))
        )
        packages = {**versions(), "wrk": wrk_version()}
        text = "\n".join(
            [
                SECTION_TITLE,
                "",
                "Two fresh servers per pair (the bare app and the variant, with the same hash",
                "seed: the pair's number) share CPU 0 and are loaded at the same time by two",
                f"`wrk -t1 -c{CONNECTIONS}` on CPU 1, so host noise hits both alike (see the",
                "script's docstring for why and for the limits).",
                "",
                f"Command: `{command.strip()}` ({elapsed:.1f} minutes).",
                "",
                *rows,
                "",
                "Versions: " + ", ".join(f"{k} {v}" for k, v in packages.items()) + ".",
            ]
        )
        write_section(SECTION_TITLE, text)
        print("updated docs/benchmarks.md", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
