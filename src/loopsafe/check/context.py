"""What a project-level rule sees: the call graph and the per-file problems."""

from __future__ import annotations

from dataclasses import dataclass, field

from loopsafe.check.callgraph import ProjectGraph


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
