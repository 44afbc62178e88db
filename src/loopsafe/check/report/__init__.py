"""Output formats: each a pure function of the Report, returning the text to print."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from loopsafe.check.report import github, json, sarif, text

if TYPE_CHECKING:
    from loopsafe.check import Report

Formatter = Callable[["Report"], str]
FORMATS: dict[str, Formatter] = {
    "text": text.render,
    "json": json.render,
    "sarif": sarif.render,
    "github": github.render,
}
HUMAN_FORMATS = frozenset({"text"})

__all__ = ["FORMATS", "HUMAN_FORMATS", "Formatter"]
