"""What both runtime benchmarks share: paths, the machine, package versions, the docs writer."""

from __future__ import annotations

import importlib.metadata
import shlex
import socket
import subprocess
import sys
from pathlib import Path

from speed import report
from speed.report import machine_info  # one reader of the machine's facts for every benchmark

BENCH_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = BENCH_DIR.parent
DOCS_PATH = REPO_ROOT / "docs" / "benchmarks.md"
PACKAGES = (
    "loopsafe",
    "fastapi",
    "starlette",
    "uvicorn",
    "h11",
    "anyio",
    "prometheus-client",
    "prometheus-fastapi-instrumentator",
    "httpx",
)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def git_commit() -> str | None:
    """The repository's commit, with "+ changes" when ``src/`` differs from it."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head} + changes in src/" if dirty else head


def versions(extra: tuple[str, ...] = ()) -> dict[str, str]:
    """Installed versions of the packages that matter here ("not installed" when missing)."""
    found: dict[str, str] = {}
    for name in (*PACKAGES, *extra):
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "not installed"
    commit = git_commit()
    if commit and found.get("loopsafe") != "not installed":
        found["loopsafe"] += f" (commit {commit})"
    return found


def versions_line(extra: tuple[str, ...] = ()) -> str:
    """``Versions: loopsafe ..., wrk ....``: the last line of a section that ran wrk."""
    packages = {**versions(extra), "wrk": wrk_version()}
    return "Versions: " + ", ".join(f"{k} {v}" for k, v in packages.items()) + "."


def wrk_version() -> str:
    try:
        out = subprocess.run(["wrk", "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "not installed"
    first = (out.stdout + out.stderr).strip().splitlines()
    return first[0].split(" Copyright")[0].removeprefix("wrk ") if first else "unknown"


def machine_lines(packages: dict[str, str]) -> list[str]:
    info = machine_info()
    return [
        "Machine:",
        "",
        f"- CPU: {info['cpu']}, nproc {info['nproc']}, RAM {info['ram']}",
        f"- Python: {info['python']} ({info['os']})",
        "- packages: " + ", ".join(f"{k} {v}" for k, v in packages.items()),
        "",
    ]


def command_line(script: str, argv: list[str]) -> str:
    """The command that reproduces this run, run from the repository root."""
    return shlex.join(["python", f"benchmarks/{script}", *argv])


ERROR_MARKERS = ("Traceback (most recent call last)", "watchdog failed", "is disabled", "ERROR")


def log_errors(log: str) -> list[str]:
    """Lines of a server's stderr that say something went wrong (tracebacks, loopsafe errors)."""
    return [ln.strip() for ln in log.splitlines() if any(m in ln for m in ERROR_MARKERS)]


def docs_argv(argv: list[str]) -> list[str]:
    """The options worth repeating in the docs: without ``--json/--docs FILE``, with
    ``--write-docs`` last."""
    out: list[str] = []
    skip = False
    for a in argv:
        if skip:
            skip = False
        elif a in ("--json", "--docs"):
            skip = True
        elif not a.startswith(("--json=", "--docs=")) and a != "--write-docs":
            out.append(a)
    return [*out, "--write-docs"]


def python() -> str:
    return sys.executable


def write_section(title: str, section: str, path: Path = DOCS_PATH) -> None:
    """Replace (or append) the ``title`` section of docs/benchmarks.md."""
    report.write_section(title, section, path)
