#!/usr/bin/env python3
"""Benchmark: does a route serialize under concurrent load? examples/service vs its twin.

For each route that waits on an upstream (examples/upstream, 150 ms per call), it measures the
median latency with one connection (``wrk -c1``) and with N at once (``wrk -cN``). The
*serialization factor* is their ratio: about 1 when the requests wait side by side, about N when
each one waits for the previous (the event loop is blocked). While the N connections run, a
second wrk loads ``/healthz`` with one connection: its median shows what every other request of
the process pays. Servers run under uvicorn (one worker) pinned to CPU 0, wrk and the upstream
on CPU 1, all on 127.0.0.1.

Run it from the repository root with the project's virtualenv (wrk from ``apt-get install wrk``)::

    python benchmarks/serialization.py --write-docs
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from runtime_bench import wrk
from runtime_bench.common import docs_argv, machine_lines, versions, write_section, wrk_version

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
SECTION_TITLE = "## serialization: examples/service vs examples/antipatterns"
ROUTES = {
    "service": [
        "/products/KB-101/offers",
        "/orders/shipping-quote?postcode=75001&weight_kg=2.5",
        "/products/1/price?currency=USD",
    ],
    "antipatterns": [
        "/products/KB-101/offers",
        "/orders/shipping-quote?postcode=75001&weight_kg=2.5",
        "/products/KB-101/price?currency=USD",
    ],
}


@dataclass(frozen=True)
class Row:
    app: str
    route: str
    alone_s: float
    loaded_s: float
    probe_s: float | None  # None: no /healthz request answered during the run
    errors: int

    @property
    def factor(self) -> float:
        return self.loaded_s / self.alone_s


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, cwd: Path, app: str, env: dict[str, str], cpu: int) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in stop())
        cmd = ["taskset", "-c", str(cpu), sys.executable, "-m", "uvicorn", app, "--host",
               "127.0.0.1", "--port", str(self.port), "--log-level", "warning", "--no-access-log"]  # fmt: skip
        self.proc = subprocess.Popen(
            cmd, cwd=cwd, env={**os.environ, **env}, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def wait(self, path: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.log.seek(0)
                raise RuntimeError(self.log.read().decode(errors="replace"))
            try:
                httpx.get(self.url + path, timeout=5)
                return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"{self.url} not ready")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


def wrk_cmd(url: str, seconds: int, connections: int) -> list[str]:
    if not url.startswith("http://127.0.0.1:"):
        raise wrk.WrkError(f"refusing to load anything but 127.0.0.1: {url}")
    # --timeout: a serialized route answers after N x its latency, beyond wrk's 2 s default.
    return ["taskset", "-c", "1", "wrk", "-t1", f"-c{connections}", f"-d{seconds}s",
            "--timeout", "30s", "--latency", url]  # fmt: skip


def run_wrk(cmds: list[list[str]], seconds: int) -> list[wrk.WrkResult]:
    procs = [subprocess.Popen(c, stdout=subprocess.PIPE, text=True) for c in cmds]
    outs = [p.communicate(timeout=seconds + 60)[0] for p in procs]
    return [wrk.parse(o) for o in outs]


def measure(app: str, base: str, route: str, seconds: int, connections: int) -> Row:
    for _ in range(3):  # warm-up: connections to the upstream, caches
        httpx.get(base + route, timeout=30)
    (alone,) = run_wrk([wrk_cmd(base + route, seconds, 1)], seconds)
    loaded, probe = run_wrk(
        [wrk_cmd(base + route, seconds, connections), wrk_cmd(base + "/healthz", seconds, 1)],
        seconds,
    )
    errors = alone.non_2xx + alone.socket_errors + loaded.non_2xx + loaded.socket_errors
    probe_s = probe.p50_s if probe.requests else None
    return Row(app, route, alone.p50_s, loaded.p50_s, probe_s, errors)


def apps(upstream: str, var: Path) -> dict[str, tuple[Path, dict[str, str]]]:
    slow = f"{upstream}/ms150"
    return {
        "service": (EXAMPLES / "service", {
            "VAR_DIR": str(var / "service"), "UPSTREAM_URL": upstream,
            "PARTNER_URLS": f"{slow},{slow}", "SHIPPING_URL": slow, "RATES_URL": f"{slow}/latest",
        }),
        "antipatterns": (EXAMPLES / "antipatterns", {
            "VAR_DIR": str(var / "twin"), "UPSTREAM_URL": slow,
            "RATE_LIMIT_PER_MINUTE": "100000000", "SALES_ROWS": "1000", "CATALOG_PRODUCTS": "100",
            "LEGACY_PG_DSN": "host=127.0.0.1 port=1 connect_timeout=1",
        }),
    }  # fmt: skip


def ms(seconds: float | None, duration: int = 0) -> str:
    if seconds is None:
        return f"none answered in {duration} s"
    return f"{seconds * 1000:.0f} ms" if seconds >= 0.01 else f"{seconds * 1000:.1f} ms"


def section(
    rows: list[Row], args: argparse.Namespace, argv: list[str], load: tuple[float, float]
) -> str:
    n = args.connections
    lines = [
        SECTION_TITLE, "",
        f"`python benchmarks/serialization.py {' '.join(docs_argv(argv))}`", "",
        f"Median latency of a route with 1 connection and with {n} at once (`wrk -c1` / "
        f"`wrk -c{n}`, {args.duration} s each), and their ratio, the serialization factor: ~1 "
        f"when requests wait side by side, ~{n} when each waits for the one before. Upstream "
        "calls take 150 ms (examples/upstream, profile ms150). `/healthz meanwhile` is the "
        f"median of a second wrk on `/healthz` (1 connection) during the {n}-connection run. "
        "Servers: uvicorn, one worker, pinned to CPU 0; wrk and the upstream on CPU 1.", "",
        f"| app | route | p50, 1 conn | p50, {n} conns | factor | /healthz meanwhile | errors |",
        "|---|---|---|---|---|---|---|",
    ]  # fmt: skip
    for r in rows:
        lines.append(
            f"| {r.app} | `GET {r.route}` | {ms(r.alone_s)} | {ms(r.loaded_s)} | "
            f"**{r.factor:.2f}** | {ms(r.probe_s, args.duration)} | {r.errors} |"
        )
    pkgs = versions(("httpx", "sqlalchemy", "requests"))
    pkgs["wrk"] = wrk_version()
    lines += ["", *machine_lines(pkgs), ""]
    lines.append(
        "The service's routes wait for their upstreams concurrently (factor about 1; its "
        "offers route asks both partners at once, so it also takes 150 ms instead of 300). "
        "The twin's block the loop (sync `requests`, sync `httpx.Client`, `urllib` in an "
        "`async def`), so its requests queue behind each other and even `/healthz` waits. "
        "The machine is shared with other jobs (2 cores; 1-minute load average "
        f"{load[0]:.1f} at the start, {load[1]:.1f} at the end); the factors are ratios "
        "measured in the same run."
    )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run (5)")
    parser.add_argument("--connections", type=int, default=8, help="concurrent connections (8)")
    parser.add_argument("--write-docs", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args(argv)
    if not wrk.available():
        print("serialization: wrk and taskset are required (apt-get install wrk)", file=sys.stderr)
        return 2
    rows: list[Row] = []
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="loopsafe-serial-") as tmp:
        upstream = Server(EXAMPLES / "upstream", "upstream:app", {}, cpu=1)
        try:
            upstream.wait("/ok/latest")
            for name, (cwd, env) in apps(upstream.url, Path(tmp)).items():
                server = Server(cwd, "app.main:app", env, cpu=0)
                try:
                    server.wait("/healthz")
                    for route in ROUTES[name]:
                        row = measure(name, server.url, route, args.duration, args.connections)
                        print(f"{name:13} {route:55} factor {row.factor:5.2f}", flush=True)
                        rows.append(row)
                finally:
                    server.stop()
        finally:
            upstream.stop()
    text = section(rows, args, argv, (load_before, os.getloadavg()[0]))
    if args.write_docs:
        write_section(SECTION_TITLE, text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
