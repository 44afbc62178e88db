"""Findings: what the checker reports, as frozen, JSON-able dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class ChainLink:
    """One step of a call chain: ``label`` was called at ``path:line:column``."""

    label: str
    path: str
    line: int
    column: int

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "path": self.path, "line": self.line, "column": self.column}


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem at one place. Lines and columns are 1-based, as flake8 prints them."""

    code: str
    name: str
    message: str
    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    help: str = ""
    context: str = ""
    chain: tuple[ChainLink, ...] = field(default=())
    fix: str | None = None  # the kind of safe fix `--fix` can apply (see check/fix.py)

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path, self.line, self.column, self.code)

    def to_tuple(self) -> tuple[Any, ...]:
        """Plain tuples, for the result cache (``marshal``)."""
        chain = tuple((c.label, c.path, c.line, c.column) for c in self.chain)
        return (
            self.code,
            self.name,
            self.message,
            self.path,
            self.line,
            self.column,
            self.end_line,
            self.end_column,
            self.help,
            self.context,
            chain,
            self.fix,
        )

    @classmethod
    def from_tuple(cls, data: tuple[Any, ...]) -> Finding:
        code, name, message, path, line, column, end_line, end_column, help, context, chain, fix = (
            data
        )
        links = tuple(ChainLink(*c) for c in chain)
        return cls(
            code, name, message, path, line, column, end_line, end_column, help, context, links, fix
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "message": self.message,
            "help": self.help,
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
            "context": self.context,
            "chain": [link.to_json() for link in self.chain],
            "fix": None if self.fix is None else {"kind": self.fix, "applicability": "safe"},
        }
