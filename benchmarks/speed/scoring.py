"""Match what a tool printed against the tree's planted mistakes and decoys."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from synth.spec import Planted
from synth.tree import Tree

# `path:line[:col]: CODE message` at the start of a line (ruff concise, flake8, loopsafe text).
LOCATION = re.compile(
    r"^(?P<path>[^\s:][^:\n]*?\.py):(?P<line>\d+)(?::\d+)?:?\s*(?P<code>[A-Z]+\d+)?"
)


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    code: str


def findings_of(text: str, root: Path) -> list[Finding]:
    """Every output line that starts with a location (indented trace lines are skipped)."""
    found: list[Finding] = []
    prefix = str(root).rstrip("/") + "/"
    for raw in text.splitlines():
        m = LOCATION.match(raw)
        if not m:
            continue
        path = m.group("path")
        if path.startswith(prefix):
            path = path[len(prefix) :]
        elif path.startswith("./"):
            path = path[2:]
        found.append(Finding(path, int(m.group("line")), m.group("code") or "?"))
    return found


@dataclass
class Score:
    findings: int
    hit: set[int]  # ids of planted mistakes reported on their site line
    chain_only: set[int]  # reported only somewhere down the chain
    secondary: int  # findings on another line of a planted mistake's own statements
    decoy_hits: Counter[str]
    other: list[Finding]


def score(tree: Tree, found: list[Finding]) -> Score:
    sites = {(p.site.path, p.site.line): p for p in tree.planted}
    along: dict[tuple[str, int], list[Planted]] = {}
    own: set[tuple[str, int]] = set()
    for p in tree.planted:
        for s in p.path_sites:
            along.setdefault((s.path, s.line), []).append(p)
        own.update((s.path, s.line) for s in p.extra)
    decoys = {(d.site.path, d.site.line): d.kind for d in tree.decoys}
    hit: set[int] = set()
    chain_only: set[int] = set()
    decoy_hits: Counter[str] = Counter()
    secondary = 0
    other: list[Finding] = []
    for f in found:
        loc = (f.path, f.line)
        if loc in sites:
            hit.add(id(sites[loc]))
        elif loc in own:
            secondary += 1
        elif loc in along:
            chain_only.update(id(p) for p in along[loc])
        else:
            if loc in decoys:
                decoy_hits[decoys[loc]] += 1
            other.append(f)
    return Score(len(found), hit, chain_only - hit, secondary, decoy_hits, other)


def misses(tree: Tree, sc: Score, limit: int = 25) -> list[str]:
    out = []
    for p in tree.planted:
        if id(p) not in sc.hit:
            out.append(f"{p.site.path}:{p.site.line} {p.kind} in {p.function}")
    return out[:limit] + ([f"... and {len(out) - limit} more"] if len(out) > limit else [])
