"""What a project-level rule sees: the call graph and the per-file problems."""

from __future__ import annotations

from dataclasses import dataclass, field

from loopsafe.check.callgraph import Call, FuncKey, ProjectGraph
from loopsafe.check.finding import Finding


@dataclass(frozen=True, slots=True)
class FileProblem:
    """A file the checker could not read or parse (1-based line and column)."""

    path: str
    line: int
    column: int
    message: str
    internal: bool = False


@dataclass(slots=True)
class CheckContext:
    """Shared, lazily computed analysis for one run."""

    graph: ProjectGraph
    problems: list[FileProblem] = field(default_factory=list)


def finding_at(
    graph: ProjectGraph,
    key: FuncKey,
    span: tuple[int, int, int, int],
    code: str,
    name: str,
    message: str,
    help: str,
    fix: str | None = None,
) -> Finding:
    """A finding in function ``key`` at ``span``: 1-based line, 0-based column (as ast gives)."""
    line, col, end_line, end_col = span
    return Finding(
        code,
        name,
        message,
        graph.path(key),
        line,
        col + 1,
        end_line,
        end_col + 1,
        help=help,
        context=graph.context(key),
        fix=fix,
    )


def call_finding(
    graph: ProjectGraph,
    key: FuncKey,
    call: Call,
    code: str,
    name: str,
    message: str,
    help: str,
    fix: str | None = None,
) -> Finding:
    """A finding at a call of function ``key``."""
    return finding_at(
        graph, key, (call[1], call[2], call[3], call[4]), code, name, message, help, fix
    )
