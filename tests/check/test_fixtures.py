"""Every fixture's findings equal the expectations written in it (`# expect: LS101`).

Every line not marked `# expect` is a negative: an extra finding fails the test as surely as a
missing one.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from .helpers import FIXTURES, check, expected, found, min_python, selection

CASES = sorted(
    p for p in FIXTURES.iterdir() if p.suffix == ".py" or (p.is_dir() and p.name != "__pycache__")
)


@pytest.mark.parametrize("fixture", CASES, ids=lambda p: p.name)
def test_fixture(fixture: Path) -> None:
    needed = min_python(fixture)
    if sys.version_info < needed:
        pytest.skip(f"needs the grammar of Python {needed[0]}.{needed[1]}")
    report = check(fixture, selection(fixture))
    root = fixture if fixture.is_dir() else fixture.parent
    got = found(report, root)
    want = expected(fixture)
    missing = want - got
    extra = got - want
    assert not missing and not extra, (
        f"missed alarms: {sorted(missing)}\nfalse alarms: {sorted(extra)}"
    )
