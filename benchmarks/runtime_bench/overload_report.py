"""Tables, targets, the SVG plot and the docs section of the overload benchmark."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from runtime_bench.common import machine_lines
from runtime_bench.openloop import FAILED, TIMEOUT, Run

SECTION_TITLE = "## overload: load shedding"
LABELS = {
    "bare": "no shedding",
    "static": "loopsafe static",
    "adaptive": "loopsafe adaptive",
    "lag": "loopsafe lag",
}
COLOURS = {
    "no shedding": "#888888",
    "uvicorn best": "#1f77b4",
    "uvicorn bad": "#9ecae1",
    "loopsafe static": "#ff7f0e",
    "loopsafe adaptive": "#2ca02c",
    "loopsafe lag": "#d62728",
}


@dataclass
class Stats:
    variant: str
    level: float
    rate: float
    sent: int
    ok: int
    good: int
    rejected: int
    timeouts: int
    failed: int
    goodput: float
    p50_ms: float | None
    p99_ms: float | None
    connections_opened: int
    late_sends: int
    final_limit: float | None = None  # loopsafe's concurrency limit at the end

    @property
    def rejection_rate(self) -> float:
        return self.rejected / self.sent if self.sent else 0.0


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def summarise(
    run: Run, variant: str, level: float, rate: float, warmup: float, duration: float, slo: float
) -> Stats:
    window = [r for r in run.results if warmup <= r.due < warmup + duration]
    ok = [r.latency for r in window if r.status == 200]
    return Stats(
        variant=variant,
        level=level,
        rate=rate,
        sent=len(window),
        ok=len(ok),
        good=sum(1 for x in ok if x <= slo),
        rejected=sum(1 for r in window if r.status == 503),
        timeouts=sum(1 for r in window if r.status == TIMEOUT),
        failed=sum(1 for r in window if r.status in (FAILED, 0)),
        goodput=sum(1 for x in ok if x <= slo) / duration,
        p50_ms=_ms(percentile(ok, 0.5)),
        p99_ms=_ms(percentile(ok, 0.99)),
        connections_opened=run.connections_opened,
        late_sends=run.late_sends,
    )


def _ms(x: float | None) -> float | None:
    return None if x is None else x * 1000


def _fmt(x: float | None, digits: int = 0) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def pick_uvicorn(stats: list[Stats], top: float) -> tuple[str | None, str | None]:
    """The best uvicorn limit (highest mean goodput over the levels) and a bad one (lowest)."""
    by_variant: dict[str, list[float]] = {}
    for s in stats:
        if s.variant.startswith("uvicorn-"):
            by_variant.setdefault(s.variant, []).append(s.goodput)
    if not by_variant:
        return None, None
    ranked = sorted(by_variant, key=lambda v: statistics.mean(by_variant[v]))
    return ranked[-1], ranked[0]


def label(variant: str, best: str | None, bad: str | None) -> str:
    if variant.startswith("uvicorn-"):
        n = variant.removeprefix("uvicorn-")
        kind = "best" if variant == best else "bad" if variant == bad else ""
        return f"uvicorn {kind} (--limit-concurrency {n})".replace("  ", " ")
    return LABELS.get(variant, variant)


def main_table(stats: list[Stats], capacity: float, best: str | None, bad: str | None) -> list[str]:
    shown = [s for s in stats if not s.variant.startswith("uvicorn-") or s.variant in (best, bad)]
    lines = [
        "| load | variant | goodput (req/s) | % of capacity | p50 ms | p99 ms | rejected | "
        "timeouts + errors | connections opened | sent > 10 ms late |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in sorted(shown, key=lambda s: (s.level, _order(s.variant, best, bad))):
        lines.append(
            f"| {s.level:g}x ({s.rate:.0f}/s) | {label(s.variant, best, bad)} | {s.goodput:.0f} | "
            f"{100 * s.goodput / capacity:.0f}% | {_fmt(s.p50_ms)} | {_fmt(s.p99_ms)} | "
            f"{100 * s.rejection_rate:.0f}% | {s.timeouts + s.failed} | {s.connections_opened} | "
            f"{s.late_sends} |"
        )
    return lines


def _order(variant: str, best: str | None, bad: str | None) -> int:
    order = ["bare", best, bad, "static", "adaptive", "lag"]
    return order.index(variant) if variant in order else len(order)


def sweep_table(stats: list[Stats], capacity: float) -> list[str]:
    sweep = sorted(
        (s for s in stats if s.variant.startswith("uvicorn-")),
        key=lambda s: (int(s.variant.removeprefix("uvicorn-")), s.level),
    )
    lines = ["| --limit-concurrency | load | goodput % of capacity | p99 ms | rejected |",
             "|---:|---|---:|---:|---:|"]  # fmt: skip
    for s in sweep:
        lines.append(
            f"| {s.variant.removeprefix('uvicorn-')} | {s.level:g}x | "
            f"{100 * s.goodput / capacity:.0f}% | {_fmt(s.p99_ms)} | {100 * s.rejection_rate:.0f}% |"
        )
    return lines


def targets(
    stats: list[Stats], capacity: float, unloaded_p99: float | None, best: str | None
) -> list[str]:
    get = {(s.variant, s.level): s for s in stats}
    lines = []
    for level, share in ((2.0, 0.90), (4.0, 0.75)):
        s = get.get(("adaptive", level))
        if s is None:
            continue
        ok = s.goodput >= share * capacity
        lines.append(
            f"- adaptive at {level:g}x: goodput {100 * s.goodput / capacity:.0f}% of capacity "
            f"(target >= {100 * share:.0f}%): {'met' if ok else 'NOT met'}"
        )
        if level == 4.0 and best is not None and (best, level) in get:
            b = get[(best, level)]
            lines.append(
                f"- adaptive at 4x: {s.goodput:.0f} req/s vs the best uvicorn limit's "
                f"{b.goodput:.0f} req/s: {'met' if s.goodput > b.goodput else 'NOT met'}"
            )
        if unloaded_p99 is not None and s.p99_ms is not None:
            ratio = s.p99_ms / unloaded_p99
            lines.append(
                f"- adaptive at {level:g}x: accepted p99 {s.p99_ms:.0f} ms = {ratio:.1f}x the "
                f"unloaded p99 (target <= 3x): {'met' if ratio <= 3 else 'NOT met'}"
            )
    return lines


def svg_plot(stats: list[Stats], capacity: float, best: str | None, bad: str | None) -> str:
    """Goodput (% of capacity) against offered load, one line per variant."""
    width, height, left, right, top, bottom = 640, 360, 60, 190, 20, 50
    levels = sorted({s.level for s in stats})
    series: dict[str, list[tuple[float, float]]] = {}
    for s in stats:
        if s.variant.startswith("uvicorn-") and s.variant not in (best, bad):
            continue
        name = label(s.variant, best, bad).split(" (")[0]
        series.setdefault(name, []).append((s.level, 100 * s.goodput / capacity))
    ymax = max(120.0, *(y for pts in series.values() for _, y in pts))
    x0, x1 = min(levels), max(levels)

    def px(x: float) -> float:
        span = (x1 - x0) or 1
        return left + (x - x0) / span * (width - left - right)

    def py(y: float) -> float:
        return top + (1 - y / ymax) * (height - top - bottom)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        'font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
    ]
    for y in range(0, int(ymax) + 1, 20):
        out.append(
            f'<line x1="{left}" y1="{py(y):.1f}" x2="{width - right}" y2="{py(y):.1f}" '
            'stroke="#eeeeee"/>'
        )
        out.append(f'<text x="{left - 6}" y="{py(y) + 4:.1f}" text-anchor="end">{y}%</text>')
    for x in levels:
        out.append(
            f'<text x="{px(x):.1f}" y="{height - bottom + 18}" text-anchor="middle">{x:g}x</text>'
        )
    out.append(
        f'<text x="{(left + width - right) / 2}" y="{height - 8}" text-anchor="middle">'
        "offered load (x capacity without shedding)</text>"
    )
    out.append(
        f'<text x="14" y="{(top + height - bottom) / 2}" text-anchor="middle" '
        f'transform="rotate(-90 14 {(top + height - bottom) / 2})">'
        "goodput within 500 ms SLO (% of capacity)</text>"
    )
    out.append(
        f'<line x1="{left}" y1="{py(100):.1f}" x2="{width - right}" y2="{py(100):.1f}" '
        'stroke="#444444" stroke-dasharray="4 3"/>'
    )
    for i, (name, pts) in enumerate(series.items()):
        colour = COLOURS.get(name, "#000000")
        points = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in sorted(pts))
        out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>')
        for x, y in pts:
            out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{colour}"/>')
        ly = top + 10 + 18 * i
        out.append(
            f'<line x1="{width - right + 12}" y1="{ly}" x2="{width - right + 32}" y2="{ly}" '
            f'stroke="{colour}" stroke-width="2"/>'
        )
        out.append(f'<text x="{width - right + 38}" y="{ly + 4}">{name}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def section(
    stats: list[Stats],
    capacity: float,
    unloaded: Stats,
    meta: dict[str, Any],
    packages: dict[str, str],
    plot_name: str,
) -> str:
    best, bad = pick_uvicorn(stats, capacity)
    lines = [
        SECTION_TITLE,
        "",
        "How much useful work a FastAPI server still does under overload, with each way of "
        "shedding load (`benchmarks/overload.py`). The handler awaits a 20 ms downstream call "
        f"and then spends 2 ms of CPU; uvicorn (one worker, asyncio loop, `--http {meta['http']}`) "
        "is pinned to one "
        "CPU and an open-loop generator (fixed arrival rate, kept-alive connections, a new one "
        "when none is idle, 2 s client timeout) runs on the other. Goodput counts the 200 "
        "responses within the 500 ms SLO per second; p50/p99 are those of the accepted (200) "
        "requests, from the scheduled send time.",
        "",
        f"Command: `{meta['command']}`",
        "",
        *machine_lines(packages),
        f"Load average before/after: {meta['load_before']} / {meta['load_after']}"
        + (
            " (a busy machine: compare the ratios, rerun quietly for absolute figures)"
            if meta.get("busy")
            else ""
        ),
        "",
        f"Capacity without shedding (closed loop, {meta['closed_connections']} connections): "
        f"**{capacity:.0f} req/s**. Unloaded ({unloaded.rate:.0f} req/s open loop): p50 "
        f"{_fmt(unloaded.p50_ms, 1)} ms, p99 {_fmt(unloaded.p99_ms, 1)} ms.",
        "",
        f"Each cell: a fresh server, {meta['warmup']:g} s of warm-up then {meta['duration']:g} s "
        "measured. The last column counts the requests the generator sent more than 10 ms after "
        "their time (a starved generator sends in bursts): more than a few hundred mean the "
        "client's CPU was busy too.",
        "",
        *main_table(stats, capacity, best, bad),
        "",
        f"![goodput against offered load]({plot_name})",
        "",
        "Targets:",
        "",
        *targets(stats, capacity, unloaded.p99_ms, best),
        "",
        "The uvicorn `--limit-concurrency` sweep (it counts connections as well as tasks, and "
        "answers its 503 with `connection: close`, so each rejection also costs a new "
        "connection):",
        "",
        *sweep_table(stats, capacity),
        "",
    ]
    return "\n".join(lines)
