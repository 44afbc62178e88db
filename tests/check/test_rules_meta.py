"""The rules document themselves, are registered once, tested both ways and listed in the CHANGELOG."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import loopsafe.check.rules as rules_pkg
from loopsafe.check.registry import CODE_RE, FAMILIES, Rule
from loopsafe.check.rules import ALL_RULES
from loopsafe.cli.rules import render_index, render_rule

from .helpers import EXPECT, FIXTURES, OK, check, py_files

ROOT = Path(__file__).parents[2]
FAMILY_MODULES = {
    "meta": "meta",
    "blocking": "blocking",
    "awaiting": "awaiting",
    "cancellation": "cancellation",
    "concurrency": "concurrency",
    "fastapi": "fastapi",
}
# LS003 reports loopsafe's own internal errors: no fixture can trigger it (tested in test_run.py).
NO_FIXTURE = {"LS003"}


def test_codes_unique_and_well_formed() -> None:
    codes = [r.code for r in ALL_RULES]
    assert len(codes) == len(set(codes))
    names = [r.name for r in ALL_RULES]
    assert len(names) == len(set(names))
    for r in ALL_RULES:
        assert CODE_RE.match(r.code), r.code
        assert r.code[2] in FAMILIES
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", r.name), r.name
        assert r.check.__module__ == f"loopsafe.check.rules.{FAMILY_MODULES[r.family]}", r.code


def test_every_rules_module_is_registered() -> None:
    registered = {r.check.__module__ for r in ALL_RULES}
    for info in pkgutil.iter_modules(rules_pkg.__path__):
        module = importlib.import_module(f"loopsafe.check.rules.{info.name}")
        for fn in getattr(module, "RULES", ()):
            assert fn.rule in ALL_RULES
        assert module.__name__ in registered, f"{module.__name__} has no rule in ALL_RULES"


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.code)
def test_docstring_sections(rule: Rule) -> None:
    doc = rule.doc
    for section in ("## What it does", "## Why is this bad?", "## Example", "Use instead:"):
        assert section in doc, f"{rule.code} docstring lacks {section!r}"
    blocks = re.findall(r"```python\n(.*?)```", doc, re.S)
    assert len(blocks) >= 2, f"{rule.code}: Example and Use instead need python blocks"
    for block in blocks:
        if rule.code != "LS001":  # LS001's example is a syntax error on purpose
            ast.parse(block)


@pytest.mark.parametrize(
    "rule", [r for r in ALL_RULES if r.code not in NO_FIXTURE], ids=lambda r: r.code
)
def test_each_code_has_positive_and_negative_fixtures(rule: Rule) -> None:
    texts = "\n".join(f.read_text() for f in py_files(FIXTURES))
    positives = {
        c.split("@")[0]
        for m in EXPECT.finditer(texts)
        for c in re.split(r"\s*,\s*", m.group("codes"))
    }
    negatives = {c for m in OK.finditer(texts) for c in re.split(r"\s*,\s*", m.group("codes"))}
    assert rule.code in positives, f"no `# expect: {rule.code}` in the fixtures"
    if rule.code != "LS001":
        assert rule.code in negatives, f"no `# ok: {rule.code}` in the fixtures"


def test_docs_rules_are_generated() -> None:
    docs = ROOT / "docs" / "rules"
    for r in ALL_RULES:
        path = docs / f"{r.code}.md"
        assert path.exists(), f"run `make docs`: {path} is missing"
        assert path.read_text() == render_rule(r.code), f"run `make docs`: {path} is stale"
    assert (docs / "README.md").read_text() == render_index()
    assert {p.stem for p in docs.glob("LS*.md")} == {r.code for r in ALL_RULES}


def test_changelog_mentions_every_code() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text()
    for r in ALL_RULES:
        assert r.code in changelog, f"CHANGELOG.md does not mention {r.code}"


def _syncify(text: str) -> str:
    text = re.sub(r"\basync def\b", "def", text)
    text = re.sub(r"\basync (with|for)\b", r"\1", text)
    return re.sub(r"\bawait\s+", "", text)


@pytest.mark.parametrize(
    "fixture",
    sorted(p for p in FIXTURES.glob("LS1*") if p.name != "__pycache__"),
    ids=lambda p: p.name,
)
def test_noerror_on_sync_code(fixture: Path, tmp_path: Path) -> None:
    """With every `async def` made a `def`, nothing runs on the loop: no LS1xx at all."""
    for file in py_files(fixture):
        rel = file.relative_to(fixture) if fixture.is_dir() else Path(file.name)
        target = tmp_path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(_syncify(file.read_text()))
    report = check(tmp_path, ("LS1",))
    assert [f for f in report.findings] == []
