"""The checker never crashes: every .py file of the stdlib and of this virtualenv's site-packages.

A file the running interpreter cannot compile must be reported as LS001; every other file must
produce no LS001/LS003 and no exception.
"""

from __future__ import annotations

import sysconfig
import warnings
from pathlib import Path

import pytest

from loopsafe.check import run
from loopsafe.check.discovery import discover
from loopsafe.config import Settings


def _compiles(path: Path) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(
                path.read_bytes(), str(path), "exec", dont_inherit=True, flags=0x400
            )  # PyCF_ONLY_AST
    except (SyntaxError, ValueError, UnicodeDecodeError, RecursionError, MemoryError):
        return False
    return True


@pytest.mark.slow
@pytest.mark.parametrize("where", ["stdlib", "purelib"])
def test_no_crash_on_real_code(where: str, tmp_path: Path) -> None:
    root = Path(sysconfig.get_paths()[where])
    report = run([str(root)], Settings(root=tmp_path), use_cache=False)
    assert report.files > 500
    internal = [f for f in report.findings if f.code == "LS003"]
    assert internal == [], internal[:5]
    reported = {Path(f.path).resolve() for f in report.findings if f.code == "LS001"}
    # Every LS001 names a file the interpreter itself rejects, and vice versa (sampled to stay fast).
    for path in sorted(reported):
        assert not _compiles(path), f"LS001 on a file that compiles: {path}"
    checked = [s.path for s in discover([str(root)]) if s.path.resolve() not in reported]
    assert len(checked) + len(reported) == report.files
    for path in checked[:: max(1, len(checked) // 400)]:
        assert _compiles(path), f"unparsable file not reported: {path}"
