"""ruff-style text: one line per finding, the LS102 chain indented under it, then the help."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from loopsafe.check import Report
    from loopsafe.check.finding import Finding


def render_finding(f: Finding) -> str:
    lines = [f"{f.path}:{f.line}:{f.column}: {f.code} {f.message}"]
    if f.chain:
        width = max(len(link.label) for link in f.chain[:-1]) + 4
        for i, link in enumerate(f.chain):
            label = link.label if i == 0 else f"-> {link.label}"
            where = f"{link.path}:{link.line}:{link.column}" if i < len(f.chain) - 1 else ""
            lines.append(f"    {label:<{width}} {where}".rstrip())
    if f.help:
        lines.append(f"  help: {f.help}")
    return "\n".join(lines)


def render(report: Report) -> str:
    return "".join(render_finding(f) + "\n\n" for f in report.findings)


def footer(report: Report) -> str:
    n = len(report.findings)
    files = f"{report.files} file{'s' if report.files != 1 else ''}"
    if n == 0:
        return f"All checks passed! ({files} checked)"
    return f"Found {n} problem{'s' if n != 1 else ''} in {files} checked."


def statistics(report: Report) -> str:
    counts = Counter((f.code, f.name) for f in report.findings)
    return "\n".join(
        f"{count:>5}  {code}  {name}" for (code, name), count in sorted(counts.items())
    )
