"""Every rule family's rules, as an explicit tuple (no import side effects)."""

from __future__ import annotations

from loopsafe.check.registry import Rule, rule_of
from loopsafe.check.rules import awaiting, blocking, cancellation, concurrency, fastapi, meta

ALL_RULES: tuple[Rule, ...] = tuple(
    rule_of(fn)
    for fn in (
        *meta.RULES,
        *blocking.RULES,
        *awaiting.RULES,
        *cancellation.RULES,
        *concurrency.RULES,
        *fastapi.RULES,
    )
)
RULES_BY_CODE: dict[str, Rule] = {r.code: r for r in ALL_RULES}

__all__ = ["ALL_RULES", "RULES_BY_CODE"]
