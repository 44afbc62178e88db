"""The ``## check speed`` section of ``docs/benchmarks.md``, its raw data, and the writer."""

from __future__ import annotations

import contextlib
import os
import platform
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from synth.spec import MISTAKE_DESCRIPTIONS, Planted
from synth.tree import Tree, planted_summary

from .scoring import Score
from .tables import codes, recall_table, speed_table, targets
from .timing import Case

SECTION_TITLE = "## check speed"


@dataclass
class Report:
    markdown: str
    data: dict[str, object]
    notes: list[str]


def machine_info() -> dict[str, str]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for raw in Path("/proc/cpuinfo").read_text().splitlines():
            if raw.startswith("model name"):
                cpu = raw.split(":", 1)[1].strip()
                break
    ram = "unknown"
    with contextlib.suppress(OSError):
        for raw in Path("/proc/meminfo").read_text().splitlines():
            if raw.startswith("MemTotal:"):
                ram = f"{int(raw.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    try:
        nproc = str(len(os.sched_getaffinity(0)))
    except AttributeError:
        nproc = str(os.cpu_count())
    return {
        "nproc": nproc,
        "cpu": cpu,
        "ram": ram,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "os": platform.platform(),
    }


def report(
    tree: Tree, cases: list[Case], versions: dict[str, str], repeat: int, slow: float
) -> Report:
    info = machine_info()
    rows, raw, scores = speed_table(tree, cases)
    decoy_total = Counter(d.kind for d in tree.decoys)
    notes: list[str] = []
    by = {c.label: c for c in cases}
    cold, warm = by.get("`loopsafe check` cold"), by.get("`loopsafe check` warm")
    if cold and warm and cold.runs and warm.runs:
        outputs = {r.stdout for r in cold.runs + warm.runs}
        if len(outputs) > 1:
            notes.append("loopsafe printed different output across its cold and warm runs")
    for label, sc in scores.items():
        if "loopsafe" in label and label.endswith("cold"):
            notes += missed_notes(tree, sc)
        if sc.other:
            notes.append(f"{label}: other findings by code: {codes(sc.other)}")
        if sc.decoy_hits:
            notes.append(f"{label}: findings on deliberately correct code: {dict(sc.decoy_hits)}")
    md = [
        SECTION_TITLE,
        "",
        f"How long `loopsafe check` takes on a generated FastAPI codebase of {tree.lines:,} lines in "
        f"{tree.files} Python files (seed {tree.seed}: {tree.domains} domains, each with a router, "
        "service, repository, schema and ORM model module, plus `core/`, `utils/`, `deps.py`, "
        "`clients.py` and a `pyproject.toml`), next to ruff's and flake8-async's `ASYNC` rules on "
        f"the same tree. The tree holds {planted_summary(tree)}, among "
        f"{len(tree.decoys):,} marked spots of correct code that a checker could mistake for "
        "blocking (offloaded calls, sync routes, background tasks, async clients, sync helpers "
        "that do not block).",
        "",
        "Reproduce from the repository root, with the project's virtualenv active:",
        "",
        "```sh",
        "python benchmarks/check_speed.py --write-docs",
        "```",
        "",
        f"Each command is a fresh subprocess, run {repeat} times round-robin (a command slower than "
        f"{slow:g} s is run once), on a tree already in the page cache. *Cold* deletes "
        "`TREE/.loopsafe_cache` first; *warm* is the next run with nothing changed. *max RSS* is "
        "the peak of the largest single process (`wait4`; a ~10 MB floor comes from the launcher); "
        "*tree RSS* is the sampled peak of the summed RSS of the process and its children (flake8 "
        "forks a worker per core). *planted hit* counts planted mistakes reported on the exact "
        "line where the `async def` blocks (the blocking call, or its call into the blocking "
        "helper). *other findings* are reported lines that are neither a planted mistake nor "
        "another line of the same statement (such as the `fh.read()` under a planted `open()`).",
        "",
        *rows,
        "",
        "Planted mistakes found, by kind (exact line):",
        "",
        *recall_table(tree, scores),
        "",
        "Targets on this machine:",
        "",
        *targets(cases),
        "",
    ]
    if notes:
        md += ["Notes:", "", *[f"- {n}" for n in notes], ""]
    md += [
        "Machine:",
        "",
        f"- CPU: {info['cpu']}, nproc {info['nproc']}",
        f"- RAM: {info['ram']}",
        f"- Python: {info['python']} ({info['os']})",
        f"- loopsafe: {versions['loopsafe']}",
        f"- ruff: {versions['ruff']}",
        f"- flake8: {versions['flake8']}",
        "",
    ]
    data: dict[str, object] = {
        "tree": {
            "lines": tree.lines,
            "files": tree.files,
            "seed": tree.seed,
            "domains": tree.domains,
            "planted": len(tree.planted),
            "decoys": dict(decoy_total),
        },
        "machine": info,
        "versions": versions,
        "cases": raw,
    }
    return Report("\n".join(md), data, notes)


def missed_notes(tree: Tree, sc: Score) -> list[str]:
    """One note per kind of planted mistake that loopsafe missed, with an example line."""
    by_kind: dict[str, list[Planted]] = {}
    for p in tree.planted:
        if id(p) not in sc.hit:
            by_kind.setdefault(p.kind, []).append(p)
    notes = []
    for kind, missed in sorted(by_kind.items(), key=lambda kv: -len(kv[1])):
        p = missed[0]
        try:
            lines = (tree.root / p.site.path).read_text().splitlines()
            text = lines[p.site.line - 1].strip()
        except (OSError, IndexError):
            lines, text = [], "?"
        where = ""
        for back in range(p.site.line - 2, max(-1, p.site.line - 40), -1):
            m = re.search(r"\bdb: ([^,()]*(?:\([^)]*\))?[^,]*)", lines[back])
            if m:
                where = f" with parameter `db: {m.group(1).rstrip(',')}`"
                break
            if lines[back].lstrip().startswith("async def"):
                break
        notes.append(
            f"loopsafe missed {len(missed)} of the {MISTAKE_DESCRIPTIONS.get(kind, kind)} "
            f"mistakes, e.g. `{p.site.path}:{p.site.line}`: `{text}`{where}"
        )
    return notes


DOCS_HEADER = (
    "# Benchmarks\n\n"
    "Each section below is written by a script in `benchmarks/`; rerun the script to refresh its "
    "section. See `benchmarks/README.md`.\n\n"
)


def write_section(title: str, section: str, path: Path) -> None:
    """Replace the ``title`` section of ``path`` (up to the next ``## ``), or append it: every
    benchmark writes its own section of docs/benchmarks.md through this."""
    text = path.read_text() if path.exists() else DOCS_HEADER
    pattern = re.compile(rf"^{re.escape(title)}[ \t]*\n.*?(?=^## |\Z)", re.M | re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: section.rstrip() + "\n\n", text, count=1)
    else:
        text = text.rstrip() + "\n\n" + section.rstrip() + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.rstrip() + "\n")


def write_docs(section: str, path: Path) -> None:
    write_section(SECTION_TITLE, section, path)
