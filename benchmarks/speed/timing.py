"""Run each benchmarked command as a fresh subprocess and measure it."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

# Runs one command and writes its wall time, peak RSS and exit code as JSON. It is a fresh, small
# interpreter so that the child's peak RSS is not inflated by this (large) process: Linux carries
# the parent's high-water mark through fork and exec into ru_maxrss.
LAUNCHER = """
import json, os, sys, time
out, argv = sys.argv[1], sys.argv[2:]
start = time.perf_counter()
try:
    pid = os.posix_spawnp(argv[0], argv, os.environ)
except OSError as exc:
    print(f"cannot run {argv[0]}: {exc}", file=sys.stderr)
    sys.exit(3)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - start
with open(out, "w") as fh:
    code = os.waitstatus_to_exitcode(status)
    json.dump({"wall": wall, "maxrss_kb": usage.ru_maxrss, "code": code}, fh)
"""


@dataclass
class Run:
    wall: float
    maxrss_kb: int
    tree_rss_kb: int
    code: int
    stdout: str
    stderr: str


class TreeRss:
    """Samples the summed RSS of every descendant of a process (not the process itself)."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        self.pid = pid
        self.interval = interval
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._page_kb = os.sysconf("SC_PAGE_SIZE") // 1024

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    @staticmethod
    def _children(pid: int) -> list[int]:
        out: list[int] = []
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as fh:
                    out += [int(c) for c in fh.read().split()]
        except OSError:
            pass
        return out

    def _loop(self) -> None:
        while not self._stop.is_set():
            total = 0
            todo = self._children(self.pid)
            while todo:
                pid = todo.pop()
                todo += self._children(pid)
                try:
                    with open(f"/proc/{pid}/statm") as fh:
                        total += int(fh.read().split()[1]) * self._page_kb
                except (OSError, IndexError, ValueError):
                    continue
            self.peak_kb = max(self.peak_kb, total)
            self._stop.wait(self.interval)


def run_once(argv: list[str], cwd: Path) -> Run:
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.TemporaryDirectory() as tmp,
    ):
        stats = Path(tmp) / "run.json"
        launcher = [sys.executable, "-I", "-S", "-c", LAUNCHER, str(stats), *argv]
        proc = subprocess.Popen(launcher, stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=cwd)
        sampler = TreeRss(proc.pid)
        sampler.start()
        proc.wait()
        sampler.stop()
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")
        if not stats.exists():
            return Run(
                float("nan"), 0, 0, 127, stdout, stderr or f"launcher exit {proc.returncode}"
            )
        data = json.loads(stats.read_text())
        return Run(
            float(data["wall"]),
            int(data["maxrss_kb"]),
            sampler.peak_kb,
            int(data["code"]),
            stdout,
            stderr,
        )


def find_tool(name: str) -> str | None:
    local = Path(sys.executable).parent / name
    if local.exists() and os.access(local, os.X_OK):
        return str(local)
    return shutil.which(name)


def tool_version(exe: str | None, *args: str) -> str:
    if exe is None:
        return "not installed"
    try:
        done = subprocess.run([exe, *args], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unknown ({exc})"
    text = (done.stdout or done.stderr).strip()
    return " ".join(text.split()) if text else f"unknown (exit {done.returncode})"


@dataclass
class Case:
    label: str
    argv: list[str] | None
    before: Callable[[], None] | None = None
    prime: bool = False
    runs: list[Run] = field(default_factory=list)
    error: str | None = None


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def build_cases(root: Path) -> tuple[list[Case], dict[str, str]]:
    loopsafe = find_tool("loopsafe")
    ruff = find_tool("ruff")
    flake8 = find_tool("flake8")
    versions = {
        "loopsafe": tool_version(loopsafe, "--version"),
        "ruff": tool_version(ruff, "--version"),
        "flake8": tool_version(flake8, "--version"),
    }

    def wipe_loopsafe_cache() -> None:
        shutil.rmtree(root / ".loopsafe_cache", ignore_errors=True)

    ruff_args = ["check", "--select", "ASYNC", "--output-format", "concise"]
    cases = [
        Case(
            "`loopsafe check` cold",
            [loopsafe, "check", str(root)] if loopsafe else None,
            before=wipe_loopsafe_cache,
        ),
        Case("`loopsafe check` warm", [loopsafe, "check", str(root)] if loopsafe else None),
        Case(
            "`ruff check --select ASYNC --no-cache`",
            [ruff, *ruff_args, "--no-cache", str(root)] if ruff else None,
            prime=True,  # also brings the tree into the page cache
        ),
        Case(
            "`ruff check --select ASYNC` (warm cache)",
            [ruff, *ruff_args, str(root)] if ruff else None,
            prime=True,
        ),
        Case(
            "`flake8 --select ASYNC` (flake8-async)",
            [flake8, "--select", "ASYNC", str(root)] if flake8 else None,
        ),
    ]
    return cases, versions


def run_cases(cases: list[Case], root: Path, repeat: int, slow: float) -> None:
    """Time every case ``repeat`` times, round-robin; a case slower than ``slow`` s runs once."""

    def attempt(case: Case) -> Run | None:
        assert case.argv is not None
        if case.before is not None:
            case.before()
        run = run_once(case.argv, root)
        if run.code not in (0, 1):
            tail = (run.stderr.strip() or run.stdout.strip())[-1500:]
            case.error = f"exit {run.code}: {tail}"
            return None
        return run

    for case in cases:
        if case.argv is not None and case.prime:
            attempt(case)
    for _ in range(repeat):
        for case in cases:
            if case.argv is None or case.error is not None:
                continue
            if case.runs and case.runs[0].wall > slow:
                continue
            run = attempt(case)
            if run is not None:
                case.runs.append(run)
            print(f"  {case.label}: {f'{run.wall:.2f} s' if run else case.error}", file=sys.stderr)
