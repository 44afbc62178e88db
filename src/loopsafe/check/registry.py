"""Rule metadata and selection. A rule is one decorated function; its docstring is its documentation."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from loopsafe._errors import ConfigError

if TYPE_CHECKING:
    from loopsafe.check.finding import Finding

CODE_RE = re.compile(r"^LS[0-9]{3}$")
FAMILIES = {
    "0": "meta",
    "1": "blocking",
    "2": "awaiting",
    "3": "cancellation",
    "4": "concurrency",
    "5": "fastapi",
}


@dataclass(frozen=True, slots=True)
class Rule:
    """A registered rule."""

    code: str
    name: str
    message: str
    help: str
    fix: str
    default: bool
    on: str
    check: Callable[..., Iterator[Finding]]

    @property
    def family(self) -> str:
        return FAMILIES[self.code[2]]

    @property
    def doc(self) -> str:
        return inspect.cleandoc(self.check.__doc__ or "")

    @property
    def summary(self) -> str:
        """The first sentence of the documentation's "What it does"."""
        body = self.doc.split("## What it does", 1)[-1].strip()
        return body.split("\n\n", 1)[0].replace("\n", " ")


def rule(
    code: str,
    name: str,
    *,
    message: str,
    help: str = "",
    fix: str = "never",
    default: bool = True,
    on: str = "project",
) -> Callable[[Callable[..., Iterator[Finding]]], Callable[..., Iterator[Finding]]]:
    """Register a function as the rule ``code``. ``on`` is "project" (call-graph) or "meta"."""

    def decorate(fn: Callable[..., Iterator[Finding]]) -> Callable[..., Iterator[Finding]]:
        fn.rule = Rule(code, name, message, help, fix, default, on, fn)  # type: ignore[attr-defined]
        return fn

    return decorate


def rule_of(fn: Any) -> Rule:
    r: Rule = fn.rule
    return r


def select(
    rules: Iterable[Rule],
    select: tuple[str, ...] | None,
    ignore: tuple[str, ...],
    extend_select: tuple[str, ...] = (),
    source: str = "--select",
) -> list[Rule]:
    """Rules chosen by code prefixes (``LS1`` selects LS1xx), as ruff does."""
    rules = list(rules)
    known = {r.code for r in rules}
    for prefix in (*(select or ()), *ignore, *extend_select):
        if prefix != "ALL" and not any(code.startswith(prefix) for code in known):
            raise ConfigError(
                f"unknown rule code or prefix {prefix!r} ({source}): see `loopsafe rules`"
            )

    def matches(code: str, prefixes: Iterable[str]) -> bool:
        return any(p == "ALL" or code.startswith(p) for p in prefixes)

    chosen = []
    for r in rules:
        on = matches(r.code, select) if select is not None else r.default
        on = on or matches(r.code, extend_select)
        if on and not matches(r.code, ignore):
            chosen.append(r)
    return chosen
