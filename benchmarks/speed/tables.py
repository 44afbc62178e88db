"""The markdown tables of the report: speed per command, planted mistakes found per kind."""

from __future__ import annotations

from collections import Counter

from synth.spec import MISTAKE_DESCRIPTIONS
from synth.tree import Tree

from .scoring import Finding, Score, findings_of, score
from .timing import Case, median

TARGET_COLD_S = 3.0
TARGET_WARM_S = 0.3
TARGET_RSS_MB = 500.0


def mb(kb: int) -> str:
    return f"{kb / 1024:.0f}"


def codes(findings: list[Finding]) -> str:
    counts = Counter(f.code for f in findings)
    return ", ".join(f"{c} x{n}" for c, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def speed_table(
    tree: Tree, cases: list[Case]
) -> tuple[list[str], dict[str, object], dict[str, Score]]:
    n = len(tree.planted)
    rows = [
        "| command | runs | median wall (s) | min-max (s) | max RSS (MB) | tree RSS (MB) "
        f"| exit | findings printed | planted hit (of {n}) | other findings |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    raw: dict[str, object] = {}
    scores: dict[str, Score] = {}
    for case in cases:
        if case.argv is None:
            rows.append(f"| {case.label} | 0 | not installed | | | | | | | |")
            continue
        if not case.runs:
            error = (case.error or "no run").splitlines()[0][:120].replace("|", "\\|")
            rows.append(f"| {case.label} | 0 | failed ({error}) | | | | | | | |")
            continue
        walls = [r.wall for r in case.runs]
        last = case.runs[-1]
        found = findings_of(last.stdout, tree.root)
        sc = score(tree, found)
        scores[case.label] = sc
        hit = f"{len(sc.hit)}" + (
            f" (+{len(sc.chain_only)} down the chain)" if sc.chain_only else ""
        )
        flag = " ⚠" if case.error else ""
        rows.append(
            f"| {case.label}{flag} | {len(walls)} | {median(walls):.2f} | {min(walls):.2f}-{max(walls):.2f} "
            f"| {mb(max(r.maxrss_kb for r in case.runs))} | {mb(max(r.tree_rss_kb for r in case.runs))} "
            f"| {last.code} | {sc.findings} | {hit} | {len(sc.other)} |"
        )
        raw[case.label] = {
            "argv": case.argv,
            "walls": walls,
            "maxrss_kb": [r.maxrss_kb for r in case.runs],
            "tree_rss_kb": [r.tree_rss_kb for r in case.runs],
            "exit": [r.code for r in case.runs],
            "findings": sc.findings,
            "output_lines": len(last.stdout.splitlines()),
            "planted_hit": len(sc.hit),
            "chain_only": len(sc.chain_only),
            "secondary": sc.secondary,
            "decoy_hits": dict(sc.decoy_hits),
            "other": [[f.path, f.line, f.code] for f in sc.other],
            "same_output_every_run": len({r.stdout for r in case.runs}) == 1,
            "error": case.error,
        }
    return rows, raw, scores


def recall_table(tree: Tree, scores: dict[str, Score]) -> list[str]:
    labels = list(scores)
    short = [label.split("`")[1].split()[0] if "`" in label else label for label in labels]
    seen: dict[str, int] = {}
    for i, s in enumerate(short):  # one column per tool: keep the first (cold / no-cache) case
        seen.setdefault(s, i)
    columns = [(short[i], scores[labels[i]]) for i in sorted(seen.values())]
    rows = [
        "| planted mistake | planted | " + " | ".join(name for name, _ in columns) + " |",
        "| --- | ---: | " + " | ".join("---:" for _ in columns) + " |",
    ]
    kinds = Counter(p.kind for p in tree.planted)
    for kind, count in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0])):
        cells = []
        for _, sc in columns:
            cells.append(str(sum(1 for p in tree.planted if p.kind == kind and id(p) in sc.hit)))
        rows.append(
            f"| {MISTAKE_DESCRIPTIONS.get(kind, kind)} | {count} | " + " | ".join(cells) + " |"
        )
    total = [str(len(sc.hit)) for _, sc in columns]
    rows.append(
        f"| **all** | **{len(tree.planted)}** | " + " | ".join(f"**{t}**" for t in total) + " |"
    )
    return rows


def targets(cases: list[Case]) -> list[str]:
    by = {c.label: c for c in cases}
    cold = by.get("`loopsafe check` cold")
    warm = by.get("`loopsafe check` warm")
    out: list[str] = []

    def verdict(ok: bool) -> str:
        return "met" if ok else "**missed**"

    for name, case, limit in (("cold run", cold, TARGET_COLD_S), ("warm run", warm, TARGET_WARM_S)):
        if case and case.runs:
            v = median([r.wall for r in case.runs])
            out.append(f"- {name} ≤ {limit:g} s: {v:.2f} s, {verdict(v <= limit)}")
        else:
            out.append(f"- {name} ≤ {limit:g} s: not measured (loopsafe missing or failed)")
    runs = [r for c in (cold, warm) if c for r in c.runs]
    if runs:
        peak = max(max(r.maxrss_kb, r.tree_rss_kb) for r in runs) / 1024
        out.append(
            f"- memory ≤ {TARGET_RSS_MB:g} MB: {peak:.0f} MB peak, {verdict(peak <= TARGET_RSS_MB)}"
        )
    else:
        out.append(f"- memory ≤ {TARGET_RSS_MB:g} MB: not measured")
    return out
