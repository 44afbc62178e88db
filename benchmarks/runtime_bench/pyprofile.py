"""Where a server's CPU time goes, per Python function: ``perf`` samples read through the
trampolines Python 3.12+ gives each Python function under ``-X perf`` (``PYTHONPERFSUPPORT=1``).

Each sample is charged to the innermost Python function on its stack (the C code it called
included), or to its innermost native or kernel symbol when no Python function is on it.
"""

from __future__ import annotations

import collections
import re
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

_PY_FRAME = re.compile(r"\bpy::([^:\s]+):(.+)$")  # the file may be "<frozen os>"
_KERNEL_ADDRESS = re.compile(r"^ffffffff[0-9a-f]{8}$")


def available() -> bool:
    return shutil.which("perf") is not None


def record(out: Path, seconds: float, cpu: int, frequency: int) -> None:
    """Sample CPU ``cpu`` (every process on it) for ``seconds``, with DWARF call stacks: the
    interpreter is built without frame pointers, and the stacks only need to reach the
    innermost trampoline."""
    cmd = [
        "perf", "record", "-q", "-o", str(out), "-C", str(cpu), "-F", str(frequency),
        "--call-graph", "dwarf,16384", "--", "sleep", str(seconds),
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    if done.returncode != 0:
        raise RuntimeError(f"perf record failed ({done.returncode}): {done.stderr.strip()[-500:]}")


def script(data: Path) -> str:
    """``perf script`` of a recording: per sample a ``pid`` line, then one ``address symbol``
    line per frame, innermost first, and a blank line."""
    done = subprocess.run(
        ["perf", "script", "-i", str(data), "-F", "pid,ip,sym"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        raise RuntimeError(f"perf script failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return done.stdout


def _short(path: str) -> str:
    """A Python file as a reader knows it: from its package (``site-packages/`` and ``src/``
    dropped) or the standard library's module name."""
    for marker in ("site-packages/", "/src/", "/benchmarks/"):
        if marker in path:
            return path.rsplit(marker, 1)[1]
    return path.rsplit("/", 1)[-1]


def charge(sample: str) -> tuple[int, str] | None:
    """(pid, what the sample is charged to) for one sample of ``perf script``; None if empty."""
    lines = [line.strip() for line in sample.strip().splitlines() if line.strip()]
    if not lines:
        return None
    try:
        pid = int(lines[0].split()[0])
    except (ValueError, IndexError):
        return None
    frames = [line.split(None, 1) for line in lines[1:]]
    for frame in frames:
        if len(frame) == 2 and (found := _PY_FRAME.search(frame[1])):
            return pid, f"{found[1]} ({_short(found[2])})"
    if not frames or len(frames[0]) < 2:
        return pid, "[unknown]"
    address, symbol = frames[0]
    kind = "kernel" if _KERNEL_ADDRESS.match(address) else "native"
    return pid, f"[{kind}] {symbol}"


def per_function(text: str, pids: Iterable[int]) -> dict[str, collections.Counter[int]]:
    """Samples per charged function, per process, for the processes in ``pids``."""
    wanted = set(pids)
    found: dict[str, collections.Counter[int]] = collections.defaultdict(collections.Counter)
    for sample in text.split("\n\n"):
        charged = charge(sample)
        if charged is not None and charged[0] in wanted:
            found[charged[1]][charged[0]] += 1
    return dict(found)
