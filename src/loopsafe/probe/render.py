"""The probe's terminal output: one table row per route, then the stalls behind each problem."""

from __future__ import annotations

import contextlib
import os
from typing import Any

from loopsafe.probe.measure import ProbeResult, RouteResult

_VERDICT_STYLE = {"ok": "green", "blocks": "bold red", "serializes": "yellow", "hangs": "bold red"}


def _ms(value: float | None) -> str:
    return "" if value is None else f"{value * 1000:.1f}"


def _where(frame: dict[str, Any] | None) -> str:
    if not frame:
        return ""
    path = frame.get("path", "")
    with contextlib.suppress(ValueError):  # another drive
        path = os.path.relpath(path)
    return f"{path}:{frame.get('line')}"


def culprit_of(route: RouteResult) -> str:
    if not route.stalls:
        return ""
    top = route.stalls[0]
    return _where(top.get("user_frame") or top.get("culprit"))


def print_table(result: ProbeResult, console: Any) -> None:
    from rich.table import Table

    table = Table(
        title=f"loopsafe probe: {result.target} ({result.n} concurrent requests per route)",
        title_justify="left",
    )
    for name, justify in (
        ("route", "left"),
        ("status", "left"),
        ("1 req ms", "right"),
        (f"{result.n} reqs ms", "right"),
        ("factor", "right"),
        ("verdict", "left"),
        ("culprit", "left"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    skipped = [r for r in result.routes if r.verdict is None]
    for route in result.routes:
        if route.verdict is None:
            continue
        status = route.status if route.http_status is None else f"{route.http_status}"
        factor = "" if route.serialization_factor is None else f"{route.serialization_factor:.2f}"
        style = _VERDICT_STYLE.get(route.verdict, "dim")
        table.add_row(
            route.route,
            status,
            _ms(route.single_s),
            _ms(route.concurrent_s),
            factor,
            f"[{style}]{route.verdict}[/]",
            culprit_of(route),
        )
    console.print(table)
    for route in result.problems:
        console.print(f"[bold]{route.route}[/]: {route.reason}")
        for group in (route.stalls or [])[:3]:
            culprit, user = group.get("culprit") or {}, group.get("user_frame") or {}
            console.print(
                f"  {group['count']} stall(s), {group['total_s'] * 1000:.0f} ms in all, "
                f"max {group['max_s'] * 1000:.0f} ms: {_where(user)} "
                f"[dim]{user.get('code', '')}[/]"
            )
            if culprit and culprit != user:
                console.print(f"    blocked in {_where(culprit)} {culprit.get('function', '')}")
    for route in skipped:
        console.print(f"[dim]skipped {route.route}: {route.reason}[/]")
    baseline = result.baseline
    summary = (
        f"{len(result.routes)} routes: {sum(r.verdict == 'ok' for r in result.routes)} ok, "
        f"{len(result.problems)} with problems, "
        f"{len(skipped)} skipped; "
        f"threshold {result.threshold_ms} ms, max factor {result.max_factor}"
    )
    if baseline:
        summary += (
            f"; empty request {baseline['single_s'] * 1000:.1f} ms, "
            f"{result.n} at once {baseline['concurrent_s'] * 1000:.1f} ms"
        )
    console.print(summary)
    for note in result.notes:
        console.print(f"[yellow]note:[/] {note}")
