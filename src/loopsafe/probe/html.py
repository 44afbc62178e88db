"""``loopsafe probe --html``: one self-contained page (inline CSS and SVG, no network) with the
loop's lag over time, stalls marked and the probe's phases shaded, and the factor per route."""

from __future__ import annotations

import datetime
import html
import json
from typing import Any

from loopsafe.probe.doctor import stall_seen
from loopsafe.probe.measure import ProbeResult, RouteResult
from loopsafe.probe.output import write_text_atomic

_COLOURS = {"ok": "#2e9d5b", "blocks": "#d13f3f", "hangs": "#8e1d1d", "serializes": "#e0a020"}
_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1100px;color:#222}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse;width:100%}td,th{padding:4px 8px;border-bottom:1px solid #ddd;
text-align:left;vertical-align:top}td.n{text-align:right;font-variant-numeric:tabular-nums}
.f-confirmed{color:#d13f3f;font-weight:600}.f-static-only{color:#b07800}
.f-not-runtime{color:#777}.f-runtime-only{color:#8e3dad;font-weight:600}
.v-ok{color:#2e9d5b}.v-blocks,.v-hangs{color:#d13f3f;font-weight:600}.v-serializes{color:#b07800}
code{font-size:12px;background:#f4f4f4;padding:1px 4px;border-radius:3px}
svg{background:#fff;border:1px solid #ddd}.axis{font-size:11px;fill:#555}.muted{color:#777}
"""
# Marks the plots as rendered (for the report's browser test, and harmless otherwise): how many
# data marks have a non-empty box once the browser has laid the page out.
_SCRIPT = """
for (const svg of document.querySelectorAll('svg.plot')) {
  let n = 0;
  for (const m of svg.querySelectorAll('.mark')) { const b = m.getBBox(); if (b.width > 0 || b.height > 0) n++; }
  svg.dataset.marksVisible = String(n);
}
document.body.dataset.rendered = 'yes';
"""


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _frame(frame: dict[str, Any] | None) -> str:
    if not frame:
        return ""
    return f"{frame.get('path')}:{frame.get('line')}"


def lag_plot(result: ProbeResult, width: int = 1060, height: int = 260) -> str:
    """Lag (ms) over seconds since the start; route phases shaded; stalls as red marks."""
    left, right, top, bottom = 50, 10, 28, 30
    start = result.started_at
    span = max(result.ended_at - start, 1.0)
    # A stall is drawn where it ended, at the height of its duration: on the lag line's peak.
    stalls = [
        (at + duration, duration, route, group)
        for route in result.routes
        for group in route.stalls or []
        for at, duration in group.get("events") or []
        if at is not None
    ]
    peak = float(max([v for _, v in result.lag] + [s[1] for s in stalls] + [0.05]))
    peak_ms = peak * 1000 * 1.1

    def x(t: float) -> float:
        return left + (t - start) / span * (width - left - right)

    def y(ms: float) -> float:
        return top + (1 - min(ms, peak_ms) / peak_ms) * (height - top - bottom)

    parts = [
        f'<svg class="plot" id="lag-plot" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, route in enumerate(r for r in result.routes if r.started_at and r.ended_at):
        x0, x1 = x(route.started_at or start), x(route.ended_at or start)
        fill = "#eef3fb" if i % 2 == 0 else "#f7f7f7"
        parts.append(
            f'<rect x="{x0:.1f}" y="{top}" width="{max(x1 - x0, 1):.1f}" '
            f'height="{height - top - bottom}" fill="{fill}"><title>{_e(route.route)}</title></rect>'
        )
        parts.append(
            f'<text class="axis" x="{x0 + 2:.1f}" y="{top - 4 - (i % 2) * 11}">'
            f"{_e(route.route[:28])}</text>"
        )
    for tick in range(5):
        ms = peak_ms * tick / 4
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(ms):.1f}" y2="{y(ms):.1f}" '
            f'stroke="#e3e3e3"/><text class="axis" x="{left - 6}" y="{y(ms) + 4:.1f}" '
            f'text-anchor="end">{ms:.0f}</text>'
        )
    if result.threshold_ms:
        ty = y(result.threshold_ms)
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{ty:.1f}" y2="{ty:.1f}" stroke="#d13f3f" '
            f'stroke-dasharray="4 3"><title>stall threshold {result.threshold_ms} ms</title></line>'
        )
    if result.lag:
        points = " ".join(f"{x(t):.1f},{y(v * 1000):.1f}" for t, v in result.lag)
        parts.append(
            f'<polyline class="mark" id="lag-line" fill="none" stroke="#3465a4" '
            f'stroke-width="1.2" points="{points}"/>'
        )
    for at, duration, route, group in stalls:
        title = (
            f"{route.route}: loop blocked {duration * 1000:.0f} ms at "
            f"{_frame(group.get('user_frame') or group.get('culprit'))}"
        )
        parts.append(
            f'<circle class="mark stall" cx="{x(at):.1f}" cy="{y(duration * 1000):.1f}" r="5" '
            f'fill="#d13f3f" fill-opacity="0.8"><title>{_e(title)}</title></circle>'
        )
    parts.append(
        f'<text class="axis" x="{left}" y="{height - 8}">0 s</text>'
        f'<text class="axis" x="{width - right}" y="{height - 8}" text-anchor="end">'
        f"{span:.0f} s</text>"
        f'<text class="axis" x="{left - 6}" y="{top - 16}" text-anchor="end">ms</text></svg>'
    )
    return "".join(parts)


def factor_plot(result: ProbeResult, width: int = 1060) -> str:
    """One bar per measured route: its serialization factor, coloured by verdict."""
    routes = [r for r in result.routes if r.serialization_factor is not None]
    left, right, row = 260, 60, 22
    height = max(row * len(routes) + 40, 80)
    top_value = max([r.serialization_factor or 0 for r in routes] + [result.max_factor * 1.2, 2])

    def x(value: float) -> float:
        return left + value / top_value * (width - left - right)

    parts = [
        f'<svg class="plot" id="factor-plot" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, route in enumerate(routes):
        value = route.serialization_factor or 0.0
        y = 10 + i * row
        colour = _COLOURS.get(route.verdict or "", "#999")
        parts.append(
            f'<text class="axis" x="{left - 8}" y="{y + 14}" text-anchor="end">'
            f"{_e(route.route[:40])}</text>"
            f'<rect class="mark bar" x="{left}" y="{y + 3}" width="{max(x(value) - left, 1):.1f}" '
            f'height="{row - 6}" fill="{colour}"><title>{_e(route.route)}: {value:.2f}</title></rect>'
            f'<text class="axis" x="{x(value) + 4:.1f}" y="{y + 14}">{value:.2f}</text>'
        )
    for value, label, anchor in (
        (1.0, "1.0 = overlap", "end"),
        (result.max_factor, "limit", "start"),
    ):
        parts.append(
            f'<line x1="{x(value):.1f}" x2="{x(value):.1f}" y1="4" y2="{height - 22}" '
            f'stroke="#555" stroke-dasharray="3 3"/><text class="axis" x="{x(value):.1f}" '
            f'y="{height - 8}" text-anchor="{anchor}">{_e(label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _row(route: RouteResult) -> str:
    def ms(value: float | None) -> str:
        return "" if value is None else f"{value * 1000:.1f}"

    verdict = route.verdict or "skipped"
    factor = "" if route.serialization_factor is None else f"{route.serialization_factor:.2f}"
    details = []
    for group in route.stalls or []:
        user = group.get("user_frame") or group.get("culprit") or {}
        details.append(
            f"{group['count']} stall(s), max {group['max_s'] * 1000:.0f} ms at "
            f"<code>{_e(_frame(user))}</code> <code>{_e(user.get('code', ''))}</code>"
        )
    if route.reason and verdict != "blocks":
        details.append(_e(route.reason))
    status = route.http_status if route.http_status is not None else route.status
    return (
        f"<tr><td><code>{_e(route.route)}</code></td><td>{_e(status)}</td>"
        f'<td class="n">{ms(route.single_s)}</td><td class="n">{ms(route.concurrent_s)}</td>'
        f'<td class="n">{factor}</td><td class="v-{_e(verdict)}">{_e(verdict)}</td>'
        f"<td>{'<br>'.join(details)}</td></tr>"
    )


def findings_section(diagnosis: Any) -> str:
    """``loopsafe doctor``'s part: each static finding, confirmed at runtime or not."""
    if diagnosis is None:
        return ""
    rows = []
    for confirmation in diagnosis.findings:
        finding = confirmation.finding
        where = f"{finding.path}:{finding.line}:{finding.column}"
        seen = confirmation.seen()
        rows.append(
            f'<tr><td class="f-{_e(confirmation.status)}">{_e(confirmation.status)}</td>'
            f"<td><code>{_e(where)}</code></td><td>{_e(finding.code)}</td>"
            f"<td>{_e(finding.message)}</td><td>{_e(seen)}</td></tr>"
        )
    for stall in diagnosis.runtime_only:
        frame = stall.get("user_frame") or stall.get("culprit") or {}
        rows.append(
            f'<tr><td class="f-runtime-only">runtime-only</td><td><code>{_e(_frame(frame))}'
            f"</code></td><td></td><td>the loop was blocked here, and no finding says so</td>"
            f"<td>{_e(stall_seen(stall))}</td></tr>"
        )
    summary = diagnosis.to_json()["summary"]
    return (
        f"<h2>Static findings, checked at runtime</h2><p>{summary['findings']} findings: "
        f"<b>{summary['confirmed']}</b> confirmed by a stall at their line, "
        f"{summary['static_only']} static-only, {summary['not_runtime']} not checkable at "
        f"runtime; {summary['runtime_only']} stall(s) with no finding.</p>"
        "<table><tr><th>runtime</th><th>where</th><th>rule</th><th>finding</th>"
        f"<th>stalls seen</th></tr>{''.join(rows)}</table>"
    )


def render_html(result: ProbeResult, diagnosis: Any = None) -> str:
    when = datetime.datetime.fromtimestamp(result.started_at, datetime.UTC)
    problems = len(result.problems)
    rows = "".join(_row(r) for r in result.routes)
    # Raw JSON for tools that read the report; "</" escaped so it cannot close the script.
    data = json.dumps(result.to_json()).replace("</", "<\\/")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>loopsafe probe: {_e(result.target)}</title>
<style>{_CSS}</style></head><body data-rendered="no">
<h1>loopsafe probe: <code>{_e(result.target)}</code></h1>
<p>{when:%Y-%m-%d %H:%M:%S} UTC, {result.ended_at - result.started_at:.1f} s;
{len(result.routes)} routes, <b>{problems}</b> that block, serialize or hang;
{result.n} concurrent requests per route; stall threshold {result.threshold_ms} ms.</p>
<h2>Event-loop lag over time</h2>
<p class="muted">Heartbeat lag of the server's event loop (ms); shaded bands are the routes as they
were probed; red marks are stalls (hover for the culprit line).</p>
{lag_plot(result)}
<h2>Serialization factor per route</h2>
<p class="muted">Wall time of {result.n} concurrent requests over the best they could take: 1.0 is
perfect overlap, {result.n} means one after another.</p>
{factor_plot(result)}
{findings_section(diagnosis)}
<h2>Routes</h2>
<table><tr><th>route</th><th>status</th><th>1 req ms</th><th>{result.n} reqs ms</th>
<th>factor</th><th>verdict</th><th>why</th></tr>{rows}</table>
<p class="muted">{"<br>".join(_e(n) for n in result.notes)}</p>
<script type="application/json" id="probe-data">{data}</script>
<script>{_SCRIPT}</script>
</body></html>
"""


def write_html(result: ProbeResult, path: str, diagnosis: Any = None) -> None:
    """Write the report (atomically)."""
    write_text_atomic(path, render_html(result, diagnosis))
