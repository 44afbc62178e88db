#!/usr/bin/env python3
"""Benchmark: does loopsafe's monitor notice loop stalls, and name their line and route?

A FastAPI app served by uvicorn on 127.0.0.1 blocks its event loop in known ways, at lines
marked ``# culprit: <tag>``: ``time.sleep`` of 60, 100 and 250 ms, a CPU loop, a blocking socket
read from a slow local TCP server, a 200 MiB ``open().read()``, a sync helper in another module,
a blocking dependency and a blocking ``BaseHTTPMiddleware``, plus a clean ``asyncio.sleep``
route. Each is requested ``--reps`` times while clean traffic runs alongside. The script reports,
per scenario, loopsafe's detection rate, attribution accuracy (line and route), reported against
induced duration, and false stalls; then the same for asyncio's debug mode
(``PYTHONASYNCIODEBUG=1``, ``slow_callback_duration`` 0.05 s) from its log lines. ``--write-docs``
updates the ``## stall detection`` section of ``docs/benchmarks.md``.

Run it from the repository root with the project's virtualenv::

    python benchmarks/stall_detection.py --write-docs

Helpers live in ``runtime_bench/``; see ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from runtime_bench.common import DOCS_PATH, docs_argv, versions, write_section
from runtime_bench.fixtures import SlowTcpServer, write_big_file
from runtime_bench.scoring import Matched, Row, debug_reports, match, monitor_reports, score
from runtime_bench.stall_app import BIG_FILE_ENV, SLOW_PORT_ENV
from runtime_bench.stall_report import (
    SECTION_TITLE,
    debug_table,
    monitor_table,
    section,
    totals,
)
from runtime_bench.stall_run import MODES, ModeRun, run_mode
from runtime_bench.traffic import SLEEPS_MS, scenarios

MAX_REPS = 200


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=20, help="requests per scenario (20)")
    parser.add_argument("--gap", type=float, default=0.1, help="seconds between requests (0.1)")
    parser.add_argument(
        "--background", type=int, default=3, help="threads of clean background traffic (3)"
    )
    parser.add_argument(
        "--modes",
        default=",".join(m.key for m in MODES),
        help="comma-separated subset of " + ",".join(m.key for m in MODES),
    )
    parser.add_argument(
        "--sleeps",
        default=",".join(map(str, SLEEPS_MS)),
        help="milliseconds of the time.sleep scenarios (60,100,250)",
    )
    parser.add_argument(
        "--scenarios",
        default="all",
        help="comma-separated subset of the scenarios (sleep-MS, cpu, socket, file, helper, "
        "dependency, middleware, clean)",
    )
    parser.add_argument(
        "--write-docs", action="store_true", help="update the section in docs/benchmarks.md"
    )
    parser.add_argument("--docs", type=Path, default=DOCS_PATH, help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    args = parser.parse_args(argv)
    if not 1 <= args.reps <= MAX_REPS or not 0 <= args.gap <= 5 or not 0 <= args.background <= 16:
        parser.error(f"--reps 1-{MAX_REPS}, --gap 0-5 s, --background 0-16")
    wanted_modes = {k.strip() for k in args.modes.split(",") if k.strip()}
    if wanted_modes - {m.key for m in MODES}:
        parser.error(f"unknown modes: {', '.join(sorted(wanted_modes - {m.key for m in MODES}))}")
    modes = [m for m in MODES if m.key in wanted_modes]
    try:
        sleeps = tuple(int(ms) for ms in args.sleeps.split(",") if ms.strip())
    except ValueError:
        parser.error("--sleeps takes milliseconds, e.g. 60,100,250")
    if any(not 1 <= ms <= 2000 for ms in sleeps):
        parser.error("--sleeps must be between 1 and 2000 ms")
    available = scenarios(sleeps)
    wanted = {k.strip() for k in args.scenarios.split(",") if k.strip()}
    if args.scenarios != "all" and wanted - {s.key for s in available}:
        parser.error(f"unknown scenarios: {', '.join(sorted(wanted - {s.key for s in available}))}")
    chosen = [s for s in available if args.scenarios == "all" or s.key in wanted]
    if not modes or not chosen:
        parser.error("no mode or no scenario selected")

    started = time.monotonic()
    results: list[tuple[ModeRun, list[Row], Matched]] = []
    tmp = Path(tempfile.mkdtemp(prefix="loopsafe-bench-stalls-"))
    try:
        big = write_big_file(tmp)
        with SlowTcpServer() as slow:
            env = {SLOW_PORT_ENV: str(slow.port), BIG_FILE_ENV: str(big)}
            for mode in modes:
                print(f"{mode.key}: {len(chosen)} scenarios x {args.reps}", file=sys.stderr)
                run = run_mode(mode, chosen, env, args.reps, args.gap, args.background)
                reports = (
                    debug_reports(run.log) if mode.debug else monitor_reports(run.snapshot or {})
                )
                matched = match(reports, run.induced)
                results.append((run, score(chosen, run.induced, matched), matched))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    elapsed = time.monotonic() - started

    for run, rows, matched in results:
        print(f"\n{run.mode.label} ({run.seconds:.0f} s):")
        print("\n".join(debug_table(rows) if run.mode.debug else monitor_table(rows)))
        print(totals(rows, matched, run.mode.debug))
    settings = {"reps": args.reps, "gap": args.gap, "background": args.background}
    extra = [f"the whole run took {elapsed / 60:.1f} minutes"]
    for run, _, _ in results:
        extra.append(
            f"{run.mode.label}: {run.background_requests} clean background requests during the run"
        )
    command = docs_argv(sys.argv[1:] if argv is None else list(argv))
    markdown = section(results, command, settings, versions(), extra)
    if args.json is not None:
        raw = [
            {
                "mode": run.mode.key,
                "induced": [asdict(i) for i in run.induced],
                "snapshot": run.snapshot,
                "threads": run.threads,
                "rows": [asdict(r) for r in rows],
                "outside": [asdict(r) for r in m.outside],
            }
            for run, rows, m in results
        ]
        args.json.write_text(json.dumps(raw, indent=1, default=str) + "\n")
    if args.write_docs:
        write_section(SECTION_TITLE, markdown, args.docs)
        print(f"updated {args.docs}", file=sys.stderr)
    else:
        notes = markdown.split("\nNotes:\n", 1)[-1].split("\nMachine:\n", 1)[0]
        print("\nNotes:" + notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
