"""examples/antipatterns is caught exactly as its manifest says; examples/service is clean."""

from __future__ import annotations

import tomllib
from collections import Counter
from pathlib import Path

from loopsafe.check.rules import RULES_BY_CODE

from .helpers import check, found

EXAMPLES = Path(__file__).parents[2] / "examples"


def test_antipatterns_caught_exactly() -> None:
    root = EXAMPLES / "antipatterns"
    manifest = tomllib.loads((root / "manifest.toml").read_text())["mistake"]
    implemented = [m for m in manifest if m["rule"] in RULES_BY_CODE]
    assert implemented, "the manifest lists no mistake of an implemented rule"
    want = Counter((m["file"], m["line"], m["rule"]) for m in implemented)
    got = found(check(root), root)
    missing = want - got
    extra = got - want
    assert not missing and not extra, (
        f"missed alarms: {sorted(missing)}\nfalse alarms: {sorted(extra)}"
    )


def test_service_is_clean() -> None:
    report = check(EXAMPLES / "service")
    assert report.findings == [], "\n".join(
        f"{f.path}:{f.line}: {f.code} {f.message}" for f in report.findings
    )
