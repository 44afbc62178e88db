"""Running the overhead benchmark: start every variant, let them settle, then measure in turns.

All servers start together and run idle for ``settle`` seconds, long enough for the monitor's
ring buffers of recent lags to fill (it walks them on every watchdog poll, so its cost grows
with uptime until they are full); their idle CPU use is sampled at the start and at the end of
that time. Then every server is frozen (SIGSTOP) and only the one being measured runs (SIGCONT),
so no idle server shares CPU 0 with it. Every server is stopped at the end, even on error.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import sys
import time
from pathlib import Path

from runtime_bench import asyncio_debug, inprocess, wrk
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


def _count(text: str, marker: str) -> int:
    return sum(1 for line in text.splitlines() if marker and marker in line)


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
    server: UvicornServer, variant: Variant, round_no: int, args: argparse.Namespace, seen: int
) -> tuple[Measurement, int, int]:
    server.resume()
    time.sleep(0.5)  # let a monitor report the frozen time before anything is measured
    log = server.stderr_text()
    resumed = _count(log[seen:], variant.stall_marker)
    start = len(log)
    url = server.url + "/json"
    wrk.run(url, seconds=args.warmup, connections=args.connections, cpu=args.wrk_cpu)
    (busy, steal), own = _machine_cpu(), server.cpu_seconds() + _children_cpu()
    started = time.monotonic()
    result = wrk.run(url, seconds=args.duration, connections=args.connections, cpu=args.wrk_cpu)
    elapsed = time.monotonic() - started
    (busy2, steal2), own2 = _machine_cpu(), server.cpu_seconds() + _children_cpu()
    server.pause()
    time.sleep(0.2)
    log = server.stderr_text()
    during = [
        ln for ln in log[start:].splitlines() if variant.stall_marker and variant.stall_marker in ln
    ]
    tail = " / ".join(ln.strip()[:200] for ln in during[-2:])
    other = max(0.0, (busy2 - busy) - (own2 - own)) / elapsed * 100
    m = Measurement(variant.key, round_no, result, len(during), tail)
    m.other_cpu, m.steal_cpu = other, (steal2 - steal) / elapsed * 100
    return m, resumed, len(log)


def run(
    variants: list[Variant], args: argparse.Namespace
) -> tuple[list[Measurement], dict[str, ServerFacts]]:
    servers = {
        v.key: UvicornServer(v.factory, cpu=args.server_cpu, env=dict(v.env)) for v in variants
    }
    facts = {v.key: ServerFacts() for v in variants}
    runs: list[Measurement] = []
    seen = dict.fromkeys(servers, 0)
    if args.inprocess_batches > 0:
        for v in variants:
            facts[v.key].us_per_request = inprocess.measure(
                v.factory, dict(v.env), args.server_cpu, args.inprocess_requests,
                args.inprocess_batches,
            )  # fmt: skip
            print(
                f"in-process {v.key:<20} {facts[v.key].us_per_request} us/request", file=sys.stderr
            )
    try:
        with contextlib.ExitStack() as stack:
            for server in servers.values():
                stack.enter_context(server)
            for v in variants:
                if v.debug and asyncio_debug.MARK not in servers[v.key].stderr_text():
                    raise ServerError(f"{v.key}: the server is not in asyncio debug mode")
            print(f"{len(servers)} servers up; settling for {args.settle} s", file=sys.stderr)
            _idle_cpu(servers, facts, args.settle)
            for server in servers.values():
                server.pause()
            for round_no in range(1, args.rounds + 1):
                shift = (round_no - 1) % len(variants)
                for variant in variants[shift:] + variants[:shift]:
                    m, resumed, seen[variant.key] = _measure(
                        servers[variant.key], variant, round_no, args, seen[variant.key]
                    )
                    facts[variant.key].resume_stalls += resumed
                    runs.append(m)
                    print(
                        f"round {round_no} {variant.key:<20} {m.wrk.requests_per_s:>9,.0f} req/s "
                        f" p50 {m.wrk.p50_s * 1000:.2f} ms  p99 {m.wrk.p99_s * 1000:.2f} ms",
                        file=sys.stderr,
                    )
    finally:
        for key, server in servers.items():
            with contextlib.suppress(OSError):
                facts[key].log_errors = log_errors(server.stderr_text())
            facts[key].exit_code = server.exit_code
            facts[key].killed = server.killed
            facts[key].stop_seconds = server.stop_seconds
            server.cleanup()
    return runs, facts
