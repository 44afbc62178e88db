#!/usr/bin/env python3
"""Benchmark: where the monitor's CPU time goes, per Python function, from ``perf`` samples.

The side-by-side benchmark says how much CPU per request the monitor adds; this says where.
Each round is a pair as in ``monitor_side_by_side.py``: two fresh uvicorn servers, the bare app
and a variant, with the same hash seed, pinned to CPU 0 and loaded at the same time by two
``wrk`` on CPU 1, while ``perf record`` samples CPU 0. The servers run with
``PYTHONPERFSUPPORT=1``, so each Python function has its own symbol in the profile; each sample
is charged to the innermost Python function on its stack (with the C code it called), or to a
native or kernel symbol when no Python function is on it. Rounds swap the two servers' places
and their samples are summed. The report lists, per function, CPU microseconds per request in
each server and the difference, the functions that grew most first: the monitor's own
functions, then whatever costs more around them. Differences under about 0.2 µs are noise.

Needs Python 3.12+ (the perf trampolines) and Linux ``perf`` allowed to sample the CPU
(``apt-get install linux-perf``; ``kernel.perf_event_paranoid`` <= 1, or root). Run it from the
repository root with a 3.12+ virtualenv that has the project installed::

    .venv-3.12/bin/python benchmarks/monitor_profile.py --write-docs
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from runtime_bench import pyprofile, wrk
from runtime_bench.common import docs_argv, versions_line, write_section
from runtime_bench.overhead_report import PART_VARIANTS, VARIANTS, Variant
from runtime_bench.server import STACK_PACKAGES, STACKS, UvicornServer

SECTION_TITLE = "## monitor overhead, per function"
SECTION_TITLES = {"stdlib": SECTION_TITLE, "standard": SECTION_TITLE + ", uvloop + httptools"}
CONNECTIONS = 16  # per server, as in monitor_side_by_side.py


def _round(
    variant: Variant, seconds: int, frequency: int, stack: str, seed: int, swap: bool
) -> tuple[dict[str, Counter[str]], dict[str, int]]:
    """One pair under perf: samples per function and requests served, keyed "bare"/"variant"."""
    bare = VARIANTS[0]
    env = {"PYTHONHASHSEED": str(seed), "PYTHONPERFSUPPORT": "1"}
    order = (
        [("variant", variant), ("bare", bare)] if swap else [("bare", bare), ("variant", variant)]
    )
    with (
        UvicornServer(order[0][1].factory, cpu=0, env={**dict(order[0][1].env), **env}, stack=stack) as a,
        UvicornServer(order[1][1].factory, cpu=0, env={**dict(order[1][1].env), **env}, stack=stack) as b,
    ):  # fmt: skip
        servers = {order[0][0]: a, order[1][0]: b}
        served: dict[str, int] = {}
        errors: list[BaseException] = []

        def load(key: str, url: str, secs: int) -> None:
            try:
                served[key] = wrk.run(
                    url + "/json", seconds=secs, connections=CONNECTIONS, cpu=1
                ).requests
            except BaseException as exc:  # re-raised in the main thread
                errors.append(exc)

        with tempfile.TemporaryDirectory(prefix="loopsafe-profile-") as tmp:
            data = Path(tmp) / "perf.data"
            for secs, profiled in ((1, False), (seconds, True)):  # warm-up, then the profile
                threads = [
                    threading.Thread(target=load, args=(k, s.url, secs)) for k, s in servers.items()
                ]
                for t in threads:
                    t.start()
                if profiled:
                    pyprofile.record(data, seconds, cpu=0, frequency=frequency)
                for t in threads:
                    t.join()
                if errors:
                    raise errors[0]
            text = pyprofile.script(data)
    pids = {s.proc.pid: k for k, s in servers.items() if s.proc is not None}
    samples: dict[str, Counter[str]] = {"bare": Counter(), "variant": Counter()}
    for function, by_pid in pyprofile.per_function(text, pids).items():
        for pid, n in by_pid.items():
            samples[pids[pid]][function] += n
    return samples, served


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--variant",
        default="loopsafe",
        help="compared with the bare app: " + ",".join(v.key for v in (*VARIANTS, *PART_VARIANTS)),
    )
    parser.add_argument("--rounds", type=int, default=4, help="pairs, summed (4)")
    parser.add_argument("--seconds", type=int, default=5, help="seconds profiled per round (5)")
    parser.add_argument("--frequency", type=int, default=1999, help="perf samples/s (1999)")
    parser.add_argument(
        "--stack", default="stdlib", choices=tuple(STACKS), help="as in side by side"
    )
    parser.add_argument("--top", type=int, default=15, help="functions listed (15)")
    parser.add_argument("--write-docs", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args(argv)
    by_key = {v.key: v for v in (*VARIANTS, *PART_VARIANTS)}
    if args.variant not in by_key:
        parser.error(f"unknown variant: {args.variant}")
    if min(args.rounds, args.seconds, args.frequency, args.top) < 1:
        parser.error("--rounds, --seconds, --frequency and --top must be >= 1")
    if sys.version_info < (3, 12):
        print(
            "the profile needs Python 3.12+ (perf trampolines): run it with a 3.12 venv",
            file=sys.stderr,
        )
        return 2
    if not (wrk.available() and pyprofile.available()):
        print(
            "wrk, taskset and perf are needed: apt-get install -y wrk linux-perf", file=sys.stderr
        )
        return 2
    started = time.monotonic()
    samples: dict[str, Counter[str]] = {"bare": Counter(), "variant": Counter()}
    served: Counter[str] = Counter()
    for i in range(args.rounds):
        got, requests = _round(
            by_key[args.variant], args.seconds, args.frequency, args.stack, i + 1, i % 2 == 1
        )
        for key in samples:
            samples[key].update(got[key])
        served.update(requests)
        print(f"round {i + 1}: {requests}", file=sys.stderr)
    us = {k: 1e6 / args.frequency / max(1, served[k]) for k in samples}  # µs per sample/request

    def per_request(key: str, function: str) -> float:
        return samples[key][function] * us[key]

    functions = set(samples["bare"]) | set(samples["variant"])
    grown = sorted(
        functions, key=lambda f: per_request("variant", f) - per_request("bare", f), reverse=True
    )
    total = {k: sum(samples[k].values()) * us[k] for k in samples}
    rows = [
        "| charged to | bare: µs/request | variant: µs/request | difference |",
        "| --- | ---: | ---: | ---: |",
        f"| everything | {total['bare']:.1f} | {total['variant']:.1f} "
        f"| {total['variant'] - total['bare']:+.1f} |",
    ]
    for function in grown[: args.top]:
        bare_us, variant_us = per_request("bare", function), per_request("variant", function)
        name = function.replace("|", "\\|")
        rows.append(
            f"| `{name}` | {bare_us:.2f} | {variant_us:.2f} | {variant_us - bare_us:+.2f} |"
        )
    elapsed = (time.monotonic() - started) / 60
    label = by_key[args.variant].label
    print(f"{label} against the bare app ({args.stack} stack, {served['bare']} and "
          f"{served['variant']} requests profiled)")  # fmt: skip
    print("\n".join(rows))
    if args.write_docs:
        command = "python benchmarks/monitor_profile.py " + " ".join(
            docs_argv(sys.argv[1:] if argv is None else list(argv))
        )
        text = "\n".join(
            [
                SECTION_TITLES[args.stack],
                "",
                f"{label} against the bare app, side by side as above ({args.stack} stack:",
                f"`--loop {STACKS[args.stack][0]} --http {STACKS[args.stack][1]}`), under",
                f"`perf record -F {args.frequency}` with Python's perf trampolines; each sample",
                "is charged to the innermost Python function on its stack (with the C code it",
                "called). CPU µs per request, summed over the rounds; the functions whose cost",
                "grew most come first. Differences under about 0.2 µs are noise.",
                "",
                f"Command: `{command.strip()}` ({elapsed:.1f} minutes, Python "
                f"{sys.version.split()[0]}; {served['bare']} and {served['variant']} requests"
                " profiled).",
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
