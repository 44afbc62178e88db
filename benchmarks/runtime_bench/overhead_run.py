"""Running the overhead benchmark: idle cost, then throughput in turns, then instruction counts.

1. All servers start together and run idle for ``settle`` seconds; their idle CPU use is
   sampled at the start and at the end of that time. Then they are stopped.
2. Throughput: every round starts a fresh server per variant, in a rotated order, one at a
   time on CPU 0, warms it up and measures it with wrk. Fresh processes matter: two processes
   of the very same app differ by up to ~10% in throughput on this kind of machine, for their
   whole life (memory layout), so a variant measured in one process carries that process's luck.
3. Instructions per request under valgrind (``instructions.py``), when valgrind is installed.

Every server is stopped at the end, even on error.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from runtime_bench import asyncio_debug, instructions, wrk
from runtime_bench.common import log_errors
from runtime_bench.overhead_report import Measurement, ServerFacts, Variant
from runtime_bench.server import ServerError, UvicornServer

IDLE_WINDOW_S = 10.0


def _machine_cpu() -> tuple[float, float]:
    """(busy, steal) CPU seconds of the whole machine since boot, from ``/proc/stat``."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK"), steal / os.sysconf(
        "SC_CLK_TCK"
    )


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk, once it has been waited for
    return usage.ru_utime + usage.ru_stime


def _idle_cpu(
    servers: dict[str, UvicornServer], facts: dict[str, ServerFacts], settle: float
) -> None:
    start = time.monotonic()
    for k, s in servers.items():
        facts[k].threads = s.threads()
    if settle < 2 * IDLE_WINDOW_S:
        time.sleep(settle)
        return
    before = {k: s.cpu_seconds() for k, s in servers.items()}
    time.sleep(IDLE_WINDOW_S)
    for k, s in servers.items():
        facts[k].idle_cpu_early = (s.cpu_seconds() - before[k]) / IDLE_WINDOW_S * 100
    time.sleep(max(0.0, settle - IDLE_WINDOW_S - (time.monotonic() - start)))
    before = {k: s.cpu_seconds() for k, s in servers.items()}
    time.sleep(IDLE_WINDOW_S)
    for k, s in servers.items():
        facts[k].idle_cpu_late = (s.cpu_seconds() - before[k]) / IDLE_WINDOW_S * 100
        facts[k].threads = s.threads()


def _measure(
    server: UvicornServer, variant: Variant, round_no: int, args: argparse.Namespace
) -> Measurement:
    """Warm up, then ``args.repeats`` wrk runs; keep the fastest (and its p50), and the lowest p99.

    Host noise on a shared machine only ever slows a run down, and comes in stretches of
    seconds: the best of a few short runs is the process's own speed, the others carry the
    host's. Its p99 is the lowest of the runs for the same reason (a hiccup of the host that
    costs no throughput still moves p99). Stall lines are counted over all of them.
    """
    url = server.url + "/json"
    wrk.run(url, seconds=args.warmup, connections=args.connections, cpu=args.wrk_cpu)
    start = len(server.stderr_text())
    best: Measurement | None = None
    speeds: list[float] = []
    p99s: list[float] = []
    for _ in range(args.repeats):
        (busy, steal), own = _machine_cpu(), server.cpu_seconds() + _children_cpu()
        started = time.monotonic()
        result = wrk.run(url, seconds=args.duration, connections=args.connections, cpu=args.wrk_cpu)
        elapsed = time.monotonic() - started
        (busy2, steal2), own2 = _machine_cpu(), server.cpu_seconds() + _children_cpu()
        speeds.append(result.requests_per_s)
        p99s.append(result.p99_s)
        if best is None or result.requests_per_s > best.wrk.requests_per_s:
            best = Measurement(variant.key, round_no, result, 0)
            best.other_cpu = max(0.0, (busy2 - busy) - (own2 - own)) / elapsed * 100
            best.steal_cpu = (steal2 - steal) / elapsed * 100
    assert best is not None  # repeats >= 1
    time.sleep(0.2)  # a stall report is written by the watchdog shortly after the stall
    log = server.stderr_text()
    during = [
        ln for ln in log[start:].splitlines() if variant.stall_marker and variant.stall_marker in ln
    ]
    best.stalls_logged = len(during)
    best.log_tail = " / ".join(ln.strip()[:200] for ln in during[-2:])
    best.all_rps = tuple(speeds)
    best.best_p99_s = min(p99s)
    return best


def _server(variant: Variant, args: argparse.Namespace, seed: int = 0) -> UvicornServer:
    """A server for ``variant``; ``seed`` is its hash seed, the same for every variant of a
    round: the hash seed alone moves a process's throughput by a few percent (how the hot dicts
    lay out), so the variants of a round share it and the rounds vary it."""
    env = {**dict(variant.env), "PYTHONHASHSEED": str(seed)}
    return UvicornServer(variant.factory, cpu=args.server_cpu, env=env)


def _record_exit(facts: ServerFacts, server: UvicornServer) -> None:
    """Keep the worst exit of all the processes a variant ran in."""
    with contextlib.suppress(OSError):
        facts.log_errors += log_errors(server.stderr_text())
    facts.processes += 1
    if server.exit_code not in (0, None) or server.killed:
        facts.exit_code, facts.killed = server.exit_code, server.killed
    if server.stop_seconds is not None:
        facts.stop_seconds = max(facts.stop_seconds or 0.0, server.stop_seconds)


def _idle_phase(
    variants: list[Variant], args: argparse.Namespace, facts: dict[str, ServerFacts]
) -> None:
    servers = {v.key: _server(v, args) for v in variants}
    try:
        with contextlib.ExitStack() as stack:
            for server in servers.values():
                stack.enter_context(server)
            for v in variants:
                if v.debug and asyncio_debug.MARK not in servers[v.key].stderr_text():
                    raise ServerError(f"{v.key}: the server is not in asyncio debug mode")
            print(f"{len(servers)} servers up; idle for {args.settle} s", file=sys.stderr)
            _idle_cpu(servers, facts, args.settle)
    finally:
        for key, server in servers.items():
            _record_exit(facts[key], server)
            server.cleanup()


def _instructions(
    variants: list[Variant],
    args: argparse.Namespace,
    facts: dict[str, ServerFacts],
    native_bare_rps: float | None,
) -> None:
    ordered = sorted(variants, key=lambda v: v.key != "bare")  # bare first: it sets the slowdown
    slowdown = 1.0
    for v in ordered:
        try:
            count, rps = instructions.per_request(
                v.factory, dict(v.env), cpu=args.server_cpu, small=args.vg_small,
                large=args.vg_large, connections=args.connections, slowdown=slowdown,
            )  # fmt: skip
        except (OSError, subprocess.SubprocessError, instructions.InstructionsError) as exc:
            print(f"instructions {v.key}: failed: {exc}", file=sys.stderr)
            continue
        facts[v.key].instructions, facts[v.key].valgrind_rps = count, rps
        if v.key == "bare" and native_bare_rps:
            slowdown = max(1.0, native_bare_rps / rps)
        facts[v.key].slowdown = slowdown
        print(f"instructions {v.key:<20} {count:,.0f} per request", file=sys.stderr)


def run(
    variants: list[Variant], args: argparse.Namespace
) -> tuple[list[Measurement], dict[str, ServerFacts]]:
    facts = {v.key: ServerFacts() for v in variants}
    runs: list[Measurement] = []
    _idle_phase(variants, args, facts)
    for round_no in range(1, args.rounds + 1):
        shift = (round_no - 1) % len(variants)
        for variant in variants[shift:] + variants[:shift]:
            server = _server(variant, args, seed=round_no)
            try:
                with server:
                    m = _measure(server, variant, round_no, args)
            finally:
                _record_exit(facts[variant.key], server)
                server.cleanup()
            runs.append(m)
            print(
                f"round {round_no} {variant.key:<20} {m.wrk.requests_per_s:>9,.0f} req/s "
                f" p50 {m.wrk.p50_s * 1000:.2f} ms  p99 {m.wrk.p99_s * 1000:.2f} ms",
                file=sys.stderr,
            )
    if args.vg_large > args.vg_small > 0 and instructions.available():
        bare = [m.wrk.requests_per_s for m in runs if m.variant == "bare"]
        _instructions(variants, args, facts, statistics.median(bare) if bare else None)
    return runs, facts
