"""Shared helpers of the checker tests: run the checker on a tree, read fixture expectations."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from loopsafe.check import Report, run
from loopsafe.config import Settings

FIXTURES = Path(__file__).parent / "fixtures"
EXPECT = re.compile(r"#\s*expect:\s*(?P<codes>LS\d{3}(?:@\d+)?(?:\s*,\s*LS\d{3}(?:@\d+)?)*)")
OK = re.compile(r"#\s*ok:\s*(?P<codes>LS\d{3}(?:\s*,\s*LS\d{3})*)")
DIRECTIVE = re.compile(r"#\s*loopsafe-test:\s*select=(?P<select>[A-Z0-9,]+)")
MIN_PYTHON = re.compile(r"#\s*loopsafe-test:.*\bmin-python=(?P<major>\d+)\.(?P<minor>\d+)")


def check(path: Path, select: tuple[str, ...] | None = None, **settings: object) -> Report:
    root = path if path.is_dir() else path.parent
    return run([str(path)], Settings(root=root, **settings), select_codes=select, use_cache=False)  # type: ignore[arg-type]


def py_files(path: Path) -> list[Path]:
    return sorted(path.rglob("*.py")) if path.is_dir() else [path]


def expected(path: Path) -> Counter[tuple[str, int, str]]:
    root = path if path.is_dir() else path.parent
    out: Counter[tuple[str, int, str]] = Counter()
    for file in py_files(path):
        for lineno, line in enumerate(file.read_text().splitlines(), 1):
            m = EXPECT.search(line)
            if m:
                for code in re.split(r"\s*,\s*", m.group("codes")):
                    out[(file.relative_to(root).as_posix(), lineno, code.split("@")[0])] += 1
    return out


def found(report: Report, root: Path) -> Counter[tuple[str, int, str]]:
    return Counter(
        (Path(f.path).resolve().relative_to(root.resolve()).as_posix(), f.line, f.code)
        for f in report.findings
    )


def min_python(path: Path) -> tuple[int, int]:
    """The oldest Python whose grammar parses the fixture (`# loopsafe-test: min-python=3.12`)."""
    for file in py_files(path):
        m = MIN_PYTHON.search(file.read_text())
        if m:
            return (int(m.group("major")), int(m.group("minor")))
    return (3, 11)


def selection(path: Path) -> tuple[str, ...]:
    for file in py_files(path):
        m = DIRECTIVE.search(file.read_text())
        if m:
            return tuple(m.group("select").split(","))
    return (path.stem.split("_")[0],)
