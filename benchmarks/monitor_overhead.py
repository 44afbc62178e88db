#!/usr/bin/env python3
"""Benchmark: what loopsafe's runtime monitor costs a FastAPI server that never blocks.

For each variant (bare app; ``loopsafe.install(app, prometheus=False)``; ``loopsafe.install(app)``
with the Prometheus sink; prometheus-fastapi-instrumentator; bare under ``PYTHONASYNCIODEBUG=1``)
it starts uvicorn on 127.0.0.1 pinned to CPU 0, warms it up, and loads a trivial JSON route with
``taskset -c 1 wrk -t1 -c32 -dNs --latency``. The variants take turns over ``--rounds`` rounds in
one run, each round in fresh server processes that share one hash seed (``PYTHONHASHSEED`` = the
round's number); each process is measured ``--repeats`` times and its fastest run counts. The
report gives the median requests/s, the ratio to the bare app, and p50/p99 latency. Then valgrind counts each variant's instructions per request
in the same server, a figure without timing noise. ``--write-docs`` updates the
``## monitor overhead`` section of ``docs/benchmarks.md``.

Run it from the repository root with the project's virtualenv (``apt-get install wrk valgrind``)::

    python benchmarks/monitor_overhead.py --write-docs

Helpers live in ``runtime_bench/``; see ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

from runtime_bench import instructions, wrk
from runtime_bench.common import DOCS_PATH, docs_argv, versions, write_section, wrk_version
from runtime_bench.overhead_report import (
    SECTION_TITLE,
    VARIANTS,
    section,
    summarise,
    table,
    targets,
)
from runtime_bench.overhead_run import run

DEFAULTS = {
    "rounds": 10, "duration": 3, "repeats": 3, "warmup": 2, "connections": 32, "settle": 65,
    "vg_small": 320, "vg_large": 1600,
}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--rounds", type=int, default=DEFAULTS["rounds"], help="rounds (default 10)"
    )
    parser.add_argument(
        "--duration", type=int, default=DEFAULTS["duration"], help="seconds per wrk run (3)"
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=DEFAULTS["repeats"],
        help="wrk runs per server process; the fastest counts (3)",
    )
    parser.add_argument(
        "--warmup", type=int, default=DEFAULTS["warmup"], help="seconds of warm-up per server (2)"
    )
    parser.add_argument(
        "--connections", type=int, default=DEFAULTS["connections"], help="wrk connections (32)"
    )
    parser.add_argument(
        "--settle",
        type=int,
        default=DEFAULTS["settle"],
        help="seconds all servers run idle before the first measurement (65)",
    )
    parser.add_argument(
        "--vg-small",
        type=int,
        default=DEFAULTS["vg_small"],
        help="requests of the smaller valgrind run (320)",
    )
    parser.add_argument(
        "--vg-large",
        type=int,
        default=DEFAULTS["vg_large"],
        help="requests of the larger valgrind run (1600; 0 skips the instruction counts)",
    )
    parser.add_argument(
        "--variants",
        default=",".join(v.key for v in VARIANTS),
        help="comma-separated subset of " + ",".join(v.key for v in VARIANTS),
    )
    parser.add_argument("--server-cpu", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--wrk-cpu", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument(
        "--write-docs", action="store_true", help="update the section in docs/benchmarks.md"
    )
    parser.add_argument("--docs", type=Path, default=DOCS_PATH, help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, help="also write the raw measurements here")
    args = parser.parse_args(argv)
    if min(args.rounds, args.duration, args.repeats, args.warmup, args.connections) < 1:
        parser.error("--rounds, --duration, --repeats, --warmup, --connections must be >= 1")
    if args.settle < 0:
        parser.error("--settle must be >= 0")
    wanted = [k.strip() for k in args.variants.split(",") if k.strip()]
    unknown = set(wanted) - {v.key for v in VARIANTS}
    if unknown:
        parser.error(f"unknown variants: {', '.join(sorted(unknown))}")
    variants = [v for v in VARIANTS if v.key in wanted]
    if not wrk.available():
        print("wrk and taskset are needed: apt-get install -y wrk", file=sys.stderr)
        return 2
    if args.vg_large and not instructions.available():
        print("valgrind is needed (or --vg-large 0): apt-get install -y valgrind", file=sys.stderr)
        return 2
    if args.vg_large and not 0 < args.vg_small < args.vg_large:
        parser.error("--vg-small must be above 0 and below --vg-large")
    cpus = os.sched_getaffinity(0)
    if {args.server_cpu, args.wrk_cpu} - cpus:
        parser.error(f"CPUs {args.server_cpu} and {args.wrk_cpu} are needed; this has {cpus}")

    started = time.monotonic()
    runs, facts = run(variants, args)
    elapsed = time.monotonic() - started
    summaries = summarise(variants, runs)
    command = docs_argv(sys.argv[1:] if argv is None else list(argv))
    extra = [f"the whole run took {elapsed / 60:.1f} minutes"]
    packages = {**versions(), "wrk": wrk_version()}
    settings = {k: getattr(args, k) for k in DEFAULTS}
    markdown = section(summaries, facts, command, settings, packages, extra)
    print("\n".join(table(summaries)))
    print("\n".join(targets(summaries, facts)))
    if args.json is not None:
        raw = {
            "settings": settings,
            "runs": [asdict(m) for m in runs],
            "servers": {k: asdict(f) for k, f in facts.items()},
        }
        args.json.write_text(json.dumps(raw, indent=1) + "\n")
    if args.write_docs:
        write_section(SECTION_TITLE, markdown, args.docs)
        print(f"updated {args.docs}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
