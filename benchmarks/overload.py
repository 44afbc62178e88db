#!/usr/bin/env python3
"""Benchmark: goodput of a FastAPI server under overload, with and without load shedding.

The server (uvicorn, one worker) runs ``runtime_bench.overload_app`` pinned to one CPU; this
process pins itself to another and drives it with an open-loop generator at a fixed arrival rate.
It first measures the capacity without shedding (closed loop) and the unloaded latency, then,
for 1x, 2x and 4x that capacity, each variant on a fresh server: no shedding, uvicorn's
``--limit-concurrency`` swept over several values, and loopsafe's static, adaptive and lag
policies. ``--write-docs`` updates the ``## overload: load shedding`` section of
``docs/benchmarks.md`` and its plot ``docs/overload.svg``.

    python benchmarks/overload.py --write-docs
    python benchmarks/overload.py --quick          # about 2 minutes, fewer limits, shorter runs
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.request
from dataclasses import asdict
from pathlib import Path
from typing import Any

from runtime_bench.common import DOCS_PATH, command_line, docs_argv, versions, write_section
from runtime_bench.openloop import run_closed_loop, run_open_loop
from runtime_bench.overload_report import SECTION_TITLE, Stats, section, summarise, svg_plot
from runtime_bench.server import UvicornServer

PLOT = DOCS_PATH.parent / "overload.svg"
LOOPSAFE = ("static", "adaptive", "lag")


class Server(UvicornServer):
    """uvicorn with extra flags (``--limit-concurrency``)."""

    def __init__(self, factory: str, extra: list[str], cpu: int, http: str) -> None:
        super().__init__(factory, cpu=cpu, ready_path="/work")
        self.extra = extra
        self.http = http

    def argv(self) -> list[str]:
        argv = super().argv()
        argv[argv.index("--http") + 1] = self.http
        return [*argv, "--backlog", "4096", *self.extra]


def shed_state(server: Server) -> dict[str, Any] | None:
    """The shedder's end state, from the app's exempt ``/_loopsafe/shed`` route."""
    try:
        with urllib.request.urlopen(server.url + "/_loopsafe/shed", timeout=5) as resp:
            found: dict[str, Any] = json.load(resp)
            return found
    except (OSError, ValueError):
        return None


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short runs and a short sweep")
    parser.add_argument("--duration", type=float, help="measured seconds per cell (10; quick 4)")
    parser.add_argument("--warmup", type=float, help="warm-up seconds per cell (2; quick 1)")
    parser.add_argument("--levels", default="1,2,4", help="loads, x capacity (1,2,4)")
    parser.add_argument(
        "--limits", help="uvicorn --limit-concurrency values (8,16,32,64,128,512; quick 16,64,512)"
    )
    parser.add_argument("--variants", default="bare,uvicorn,static,adaptive,lag")
    parser.add_argument("--capacity", type=float, help="skip measuring it: req/s")
    parser.add_argument("--slo", type=float, default=0.5, help="seconds (0.5)")
    parser.add_argument("--timeout", type=float, default=2.0, help="client timeout, s (2)")
    parser.add_argument(
        "--http", default="httptools", choices=("httptools", "h11"), help="uvicorn --http"
    )
    parser.add_argument("--server-cpu", type=int, default=0)
    parser.add_argument("--client-cpu", type=int, default=1)
    parser.add_argument("--json", help="write the raw figures to this file")
    parser.add_argument(
        "--from-json", help="no measurement: write the report of a run saved with --json"
    )
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args(argv)
    if args.from_json:
        return report_from(Path(args.from_json), args.write_docs)
    quick = args.quick
    duration = args.duration or (4.0 if quick else 10.0)
    warmup = args.warmup if args.warmup is not None else (1.0 if quick else 2.0)
    limits = [
        int(x) for x in (args.limits or ("16,64,512" if quick else "8,16,32,64,128,512")).split(",")
    ]
    levels = [float(x) for x in args.levels.split(",")]
    variants = args.variants.split(",")
    affinity = os.sched_getaffinity(0)
    try:
        os.sched_setaffinity(0, {args.client_cpu})
    except (AttributeError, OSError) as exc:
        print(f"overload: cannot pin to CPU {args.client_cpu}: {exc}", file=sys.stderr)
        return 2
    load_before = load_average()

    closed_connections = 64
    with Server("runtime_bench.overload_app:bare", [], args.server_cpu, args.http) as server:
        run_closed_loop(server.port, closed_connections, 1.0)  # warm-up
        if args.capacity:
            capacity = args.capacity
        else:
            cap_run = run_closed_loop(server.port, closed_connections, duration)
            capacity = sum(1 for r in cap_run.results if r.status == 200) / duration
        print(f"capacity: {capacity:.0f} req/s", file=sys.stderr)
        rate = max(5.0, capacity / 10)
        unloaded = summarise(
            run_open_loop(server.port, rate, warmup + duration, timeout=args.timeout),
            "bare", 0.1, rate, warmup, duration, args.slo,
        )  # fmt: skip
        print(
            f"unloaded: p50 {unloaded.p50_ms:.1f} ms p99 {unloaded.p99_ms:.1f} ms", file=sys.stderr
        )

    cells: list[tuple[str, str, list[str]]] = []
    for variant in variants:
        if variant == "bare":
            cells.append(("bare", "runtime_bench.overload_app:bare", []))
        elif variant == "uvicorn":
            cells += [
                (f"uvicorn-{n}", "runtime_bench.overload_app:bare", ["--limit-concurrency", str(n)])
                for n in limits
            ]
        elif variant in LOOPSAFE:
            cells.append((variant, f"runtime_bench.overload_app:{variant}", []))
        else:
            print(f"overload: error: unknown variant {variant!r} (--variants)", file=sys.stderr)
            return 2
    stats: list[Stats] = []
    for level in levels:
        rate = capacity * level
        for name, factory, extra in cells:
            with Server(factory, extra, args.server_cpu, args.http) as server:
                run = run_open_loop(server.port, rate, warmup + duration, timeout=args.timeout)
                state = shed_state(server) if name in LOOPSAFE else None
            s = summarise(run, name, level, rate, warmup, duration, args.slo)
            if state is not None:
                s.final_limit = state["limit"]
            stats.append(s)
            print(
                f"{level:g}x {name:14} goodput {100 * s.goodput / capacity:5.1f}%  "
                f"p50 {s.p50_ms or 0:7.1f}  p99 {s.p99_ms or 0:7.1f} ms  "
                f"rejected {100 * s.rejection_rate:4.1f}%  timeouts+errors {s.timeouts + s.failed}"
                f"  limit {s.final_limit}",
                file=sys.stderr,
            )
    load_after = load_average()
    os.sched_setaffinity(0, affinity)  # the report describes the machine, not the pinning
    meta = {
        "command": command_line(
            "overload.py", docs_argv(argv if argv is not None else sys.argv[1:])
        ),
        "load_before": load_before,
        "load_after": load_after,
        "busy": max(float(load_before.split()[0]), float(load_after.split()[0])) > 1.5,
        "duration": duration,
        "warmup": warmup,
        "closed_connections": closed_connections,
        "http": args.http,
    }
    text = section(stats, capacity, unloaded, meta, versions(), PLOT.name)
    print(text)
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {"capacity": capacity, "unloaded": asdict(unloaded), "meta": meta,
                 "versions": versions(), "stats": [asdict(s) for s in stats]},
                indent=2,
            )
        )  # fmt: skip
    if args.write_docs:
        write_section(SECTION_TITLE, text)
        PLOT.write_text(svg_plot(stats, capacity, *_best_bad(stats, capacity)))
    return 0


def report_from(path: Path, write_docs: bool) -> int:
    try:
        data = json.loads(path.read_text())
        capacity = float(data["capacity"])
        unloaded = Stats(**data["unloaded"])
        stats = [Stats(**s) for s in data["stats"]]
        meta = data["meta"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"overload: error: cannot read {path} (--from-json): {exc}", file=sys.stderr)
        return 2
    text = section(stats, capacity, unloaded, meta, data.get("versions") or versions(), PLOT.name)
    print(text)
    if write_docs:
        write_section(SECTION_TITLE, text)
        PLOT.write_text(svg_plot(stats, capacity, *_best_bad(stats, capacity)))
    return 0


def _best_bad(stats: list[Stats], capacity: float) -> tuple[str | None, str | None]:
    from runtime_bench.overload_report import pick_uvicorn

    return pick_uvicorn(stats, capacity)


if __name__ == "__main__":
    raise SystemExit(main())
