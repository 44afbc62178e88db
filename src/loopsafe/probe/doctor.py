"""``loopsafe doctor``: the static findings and the probe's stalls, matched line by line.

A blocking finding (LS1xx) is *confirmed* when a stall's stack passed through its line, or
through a line of its call chain; it is *static-only* when the probe saw no stall there. A stall
whose stack touches no finding is *runtime-only*: a blocking call the checker does not know.
Findings of the other families (missing await, timeouts, fan-out, ...) cannot show up as
stalls: they are listed as not checkable at runtime.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from loopsafe.probe.measure import ProbeResult

SCHEMA_VERSION = 1


@dataclass
class Confirmation:
    finding: Any  # loopsafe.check.finding.Finding
    status: str  # confirmed, static-only, not-runtime
    routes: list[str] = field(default_factory=list)
    stalls: int = 0
    max_s: float = 0.0

    def seen(self) -> str:
        """What the probe saw at this finding's lines, in words ("" when nothing)."""
        if self.status != "confirmed":
            return ""
        return (
            f"{self.stalls} stall(s), max {self.max_s * 1000:.0f} ms, in {', '.join(self.routes)}"
        )

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = self.finding.to_json()
        data["runtime"] = {
            "status": self.status,
            "routes": self.routes,
            "stalls": self.stalls,
            "max_s": round(self.max_s, 6),
        }
        return data


@dataclass
class Diagnosis:
    findings: list[Confirmation]
    runtime_only: list[dict[str, Any]]
    probe: ProbeResult

    @property
    def problems(self) -> bool:
        return bool(self.findings or self.runtime_only or self.probe.problems)

    def count(self, status: str) -> int:
        return sum(c.status == status for c in self.findings)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "summary": {
                "findings": len(self.findings),
                "confirmed": self.count("confirmed"),
                "static_only": self.count("static-only"),
                "not_runtime": self.count("not-runtime"),
                "runtime_only": len(self.runtime_only),
                "routes_with_problems": len(self.probe.problems),
            },
            "findings": [c.to_json() for c in self.findings],
            "runtime_only": self.runtime_only,
            "probe": self.probe.to_json(),
        }


def _key(path: str, line: int) -> tuple[str, int]:
    return os.path.realpath(path), line


def diagnose(findings: list[Any], probe: ProbeResult) -> Diagnosis:
    """Match each finding with the stalls whose stacks went through its lines."""
    stalls = [(route.route, group) for route in probe.routes for group in route.stalls or []]
    stack_keys = [
        {_key(f["path"], f["line"]) for f in group.get("stack") or []}
        | {_key(f["path"], f["line"]) for f in (group.get("culprit"), group.get("user_frame")) if f}
        for _, group in stalls
    ]
    matched: set[int] = set()
    confirmations = []
    for finding in findings:
        if not finding.code.startswith("LS1"):
            confirmations.append(Confirmation(finding, "not-runtime"))
            continue
        lines = {_key(finding.path, finding.line)} | {
            _key(link.path, link.line) for link in finding.chain
        }
        confirmation = Confirmation(finding, "static-only")
        for index, ((route, group), keys) in enumerate(zip(stalls, stack_keys, strict=True)):
            if lines & keys:
                matched.add(index)
                confirmation.status = "confirmed"
                if route not in confirmation.routes:
                    confirmation.routes.append(route)
                confirmation.stalls += group["count"]
                confirmation.max_s = max(confirmation.max_s, group["max_s"])
        confirmations.append(confirmation)
    runtime_only = [
        {"route": route, **{k: group[k] for k in ("count", "max_s", "culprit", "user_frame")}}
        for index, (route, group) in enumerate(stalls)
        if index not in matched
    ]
    return Diagnosis(confirmations, runtime_only, probe)


def stall_seen(stall: dict[str, Any]) -> str:
    """A runtime-only stall in words: how often, how long, where."""
    return f"{stall['count']} stall(s), max {stall['max_s'] * 1000:.0f} ms, in {stall['route']}"
