"""Every fixture's findings equal the expectations written in it (`# expect: LS101`).

Every line not marked `# expect` is a negative: an extra finding fails the test as surely as a
missing one.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import FIXTURES, check, expected, found, selection

CASES = sorted(
    p for p in FIXTURES.iterdir() if p.suffix == ".py" or (p.is_dir() and p.name != "__pycache__")
)


@pytest.mark.parametrize("fixture", CASES, ids=lambda p: p.name)
def test_fixture(fixture: Path) -> None:
    report = check(fixture, selection(fixture))
    root = fixture if fixture.is_dir() else fixture.parent
    got = found(report, root)
    want = expected(fixture)
    missing = want - got
    extra = got - want
    assert not missing and not extra, (
        f"missed alarms: {sorted(missing)}\nfalse alarms: {sorted(extra)}"
    )
