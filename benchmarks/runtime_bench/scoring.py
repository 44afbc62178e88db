"""Matching what a detector reported against the stalls the benchmark induced.

An induced request owns the reports that carry its request id (loopsafe reads ``x-request-id``)
or that started inside its time window (from just before it was sent to just after its answer:
the requests of the benchmark never overlap). Anything else is reported outside any induced
stall. asyncio's debug mode has no request id: its ``Executing ... took X seconds`` lines are
matched on time alone (the line is logged when the slow step ends).
"""

from __future__ import annotations

import os
import re
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runtime_bench.traffic import CLEAN_ROUTES, Induced, Scenario

HERE = Path(__file__).resolve().parent
MARKED_FILES = (HERE / "stall_app.py", HERE / "stall_helpers.py")
SLACK_S = 0.02  # two heartbeats: a stall starts at the last tick before it
_CULPRIT = re.compile(r"#\s*culprit:\s*([\w-]+)\s*$")
_DEBUG_LINE = re.compile(r"^(\d+\.\d+) asyncio WARNING (Executing .*) took ([\d.]+) seconds\s*$")


def culprit_lines(files: Iterable[Path] = MARKED_FILES) -> dict[str, set[tuple[str, int]]]:
    """``tag -> {(real path, line)}`` for every line marked ``# culprit: <tag>``."""
    found: dict[str, set[tuple[str, int]]] = {}
    for path in files:
        for number, text in enumerate(path.read_text().splitlines(), 1):
            m = _CULPRIT.search(text)
            if m:
                found.setdefault(m[1], set()).add((os.path.realpath(path), number))
    return found


@dataclass(slots=True)
class Report:
    """One stall as a detector reported it, in the fields both detectors can fill."""

    start: float  # wall clock
    duration_s: float
    route: str | None = None
    request_id: str | None = None
    path: str | None = None  # loopsafe's user frame
    line: int | None = None
    culprit: str | None = None  # the path of loopsafe's culprit frame
    code: str = ""
    message: str = ""  # asyncio's log message

    @property
    def where(self) -> str:
        return f"{Path(self.path).name}:{self.line}" if self.path else "no frame"


def monitor_reports(snapshot: dict[str, Any]) -> list[Report]:
    out = []
    for e in snapshot.get("stalls", []):
        frame = e.get("user_frame") or {}
        culprit = e.get("culprit") or {}
        out.append(
            Report(
                start=float(e["started_at"]),
                duration_s=float(e["duration_s"]),
                route=e.get("route"),
                request_id=e.get("request_id"),
                path=frame.get("path"),
                line=frame.get("line"),
                code=frame.get("code") or "",
                culprit=culprit.get("path"),
            )
        )
    return out


def debug_reports(log: str) -> list[Report]:
    out = []
    for raw in log.splitlines():
        m = _DEBUG_LINE.match(raw)
        if m:
            took = float(m[3])
            out.append(Report(start=float(m[1]) - took, duration_s=took, message=m[2]))
    return out


@dataclass(slots=True)
class Matched:
    by_request: dict[str, list[Report]] = field(default_factory=dict)
    outside: list[Report] = field(default_factory=list)


def match(reports: list[Report], induced: list[Induced]) -> Matched:
    by_id = {i.request_id: i for i in induced}
    windows = sorted(induced, key=lambda i: i.t0)
    out = Matched({i.request_id: [] for i in induced})
    for r in reports:
        owner = by_id.get(r.request_id) if r.request_id else None
        if owner is None:
            owner = next((i for i in windows if i.t0 - SLACK_S <= r.start <= i.t1 + SLACK_S), None)
        if owner is None:
            out.outside.append(r)
        else:
            out.by_request[owner.request_id].append(r)
    return out


@dataclass(slots=True)
class Row:
    scenario: Scenario
    requests: int = 0
    failed: int = 0
    blocked_s: list[float] = field(default_factory=list)  # measured by the server
    detected: int = 0
    line_ok: int = 0
    route_ok: int = 0
    attributed: int = 0  # line and route both right
    request_id_ok: int = 0
    names_function: int = 0  # asyncio: the message contains the route's function name
    names_line: int = 0  # asyncio: the message contains file:line of the culprit
    reported_s: list[float] = field(default_factory=list)  # the longest report per request
    extra: int = 0  # further reports for the same request
    false: int = 0  # reports on the clean routes (or any report for the clean scenario)
    wrong: list[Report] = field(default_factory=list)  # examples of misattributed reports

    @staticmethod
    def mean_ms(values: list[float]) -> float | None:
        return statistics.fmean(values) * 1000 if values else None


def score(scenarios: list[Scenario], induced: list[Induced], matched: Matched) -> list[Row]:
    lines = culprit_lines()
    rows = {sc.key: Row(sc) for sc in scenarios}
    for i in induced:
        row = rows[i.scenario]
        sc = row.scenario
        if i.status != 200:
            row.failed += 1
            continue
        row.requests += 1
        if i.blocked_s is not None and sc.tag is not None:
            row.blocked_s.append(i.blocked_s)
        got = matched.by_request.get(i.request_id, [])
        if sc.tag is None:
            row.false += len(got)
            row.wrong += got[:1]
            continue
        row.false += sum(1 for r in got if r.route in CLEAN_ROUTES)
        if not got:
            continue
        row.detected += 1
        row.extra += len(got) - 1
        best = max(got, key=lambda r: r.duration_s)
        row.reported_s.append(best.duration_s)
        wanted = lines.get(sc.tag, set())
        if sc.culprit is not None:
            line_ok = best.culprit == sc.culprit
        else:
            line_ok = best.path is not None and (os.path.realpath(best.path), best.line) in wanted
        route_ok = best.route == sc.route
        row.line_ok += line_ok
        row.route_ok += route_ok
        row.attributed += line_ok and route_ok
        row.request_id_ok += best.request_id == i.request_id
        if best.message:
            row.names_function += sc.function in best.message
            row.names_line += any(f"{Path(p).name}:{n}" in best.message for p, n in wanted)
        if not (line_ok and route_ok) and (best.path is not None or best.culprit is not None):
            row.wrong.append(best)
    return list(rows.values())
