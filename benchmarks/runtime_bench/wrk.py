"""Run wrk (pinned to a CPU, fixed duration, 127.0.0.1 only) and parse its ``--latency`` report."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass

_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_NUMBER = r"([\d.]+)(us|ms|s|m|h)"


class WrkError(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class WrkResult:
    requests_per_s: float
    requests: int
    p50_s: float
    p75_s: float
    p90_s: float
    p99_s: float
    socket_errors: int
    non_2xx: int
    output: str


def _seconds(value: str, unit: str) -> float:
    return float(value) * _UNITS[unit]


def parse(output: str) -> WrkResult:
    """The figures of one ``wrk --latency`` run; raises WrkError on output it cannot read."""
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M)
    total = re.search(r"^\s*(\d+) requests in ", output, re.M)
    pct = {
        m[1]: _seconds(m[2], m[3]) for m in re.finditer(rf"^\s+(\d+)%\s+{_NUMBER}", output, re.M)
    }
    if rps is None or total is None or not {"50", "75", "90", "99"} <= pct.keys():
        raise WrkError(f"cannot parse wrk output:\n{output}")
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return WrkResult(
        requests_per_s=float(rps[1]),
        requests=int(total[1]),
        p50_s=pct["50"],
        p75_s=pct["75"],
        p90_s=pct["90"],
        p99_s=pct["99"],
        socket_errors=sum(int(g) for g in errors.groups()) if errors else 0,
        non_2xx=int(non_2xx[1]) if non_2xx else 0,
        output=output,
    )


def available() -> bool:
    return shutil.which("wrk") is not None and shutil.which("taskset") is not None


def run(
    url: str, *, seconds: int, connections: int = 32, threads: int = 1, cpu: int | None = 1
) -> WrkResult:
    """``taskset -c CPU wrk -tT -cC -dSs --latency URL``, bounded by a timeout."""
    if not url.startswith("http://127.0.0.1:"):
        raise WrkError(f"refusing to load anything but 127.0.0.1: {url}")
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if cpu is not None:
        cmd = ["taskset", "-c", str(cpu), *cmd]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30)
    except subprocess.TimeoutExpired as exc:
        raise WrkError(f"wrk did not finish: {cmd}") from exc
    if done.returncode != 0:
        raise WrkError(f"wrk exited {done.returncode}: {done.stderr or done.stdout}")
    return parse(done.stdout)
