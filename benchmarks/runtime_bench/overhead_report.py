"""The overhead benchmark's variants, its measurements and its ``## monitor overhead`` section."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from runtime_bench.common import command_line, machine_lines
from runtime_bench.wrk import WrkResult

SECTION_TITLE = "## monitor overhead"
THROUGHPUT_TARGET = 0.97
P99_TARGET = 1.05
OTHER_LOAD_LIMIT = 5.0  # % of a CPU: more than this during a measurement is flagged


@dataclass(frozen=True, slots=True)
class Variant:
    key: str
    label: str
    factory: str
    env: tuple[tuple[str, str], ...] = ()
    stall_marker: str = ""  # a line the server logs per stall, counted in its stderr
    loopsafe: bool = False
    debug: bool = False  # the server must print asyncio_debug.MARK


VARIANTS = (
    Variant("bare", "bare app", "runtime_bench.overhead_app:bare"),
    Variant(
        "loopsafe",
        "`loopsafe.install(app, prometheus=False)`",
        "runtime_bench.overhead_app:loopsafe_no_prometheus",
        stall_marker="loop blocked",
        loopsafe=True,
    ),
    Variant(
        "loopsafe-prometheus",
        "`loopsafe.install(app)` (Prometheus sink on)",
        "runtime_bench.overhead_app:loopsafe_prometheus",
        stall_marker="loop blocked",
        loopsafe=True,
    ),
    Variant(
        "instrumentator",
        "`Instrumentator().instrument(app)`",
        "runtime_bench.overhead_app:instrumentator",
    ),
    Variant(
        "asyncio-debug",
        "bare app, `PYTHONASYNCIODEBUG=1`",
        "runtime_bench.overhead_app:bare",
        env=(("PYTHONASYNCIODEBUG", "1"),),
        stall_marker="Executing <",
        debug=True,
    ),
)

# Not in the default runs: what the parts of the monitor cost (see overhead_app.py).
PART_VARIANTS = (
    Variant(
        "passthrough",
        "a pure ASGI pass-through middleware",
        "runtime_bench.overhead_app:passthrough",
    ),
    Variant(
        "loopsafe-exempt",
        '`loopsafe.install(app, prometheus=False, exempt=("/",))` (no per-request work)',
        "runtime_bench.overhead_app:loopsafe_exempt",
        loopsafe=True,
    ),
)


@dataclass(slots=True)
class Measurement:
    variant: str
    round: int
    wrk: WrkResult
    stalls_logged: int
    log_tail: str = ""
    other_cpu: float = 0.0  # % of one CPU used by anything but this server and wrk, while measured
    steal_cpu: float = 0.0  # % of one CPU stolen by the hypervisor, while measured
    all_rps: tuple[float, ...] = ()  # every run of the process; ``wrk`` is the fastest
    best_p99_s: float | None = None  # the lowest p99 of the process's runs

    @property
    def p99_s(self) -> float:
        return self.best_p99_s if self.best_p99_s is not None else self.wrk.p99_s


@dataclass(slots=True)
class Summary:
    variant: Variant
    runs: list[Measurement] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return statistics.median(m.wrk.requests_per_s for m in self.runs)

    @property
    def p50(self) -> float:
        return statistics.median(m.wrk.p50_s for m in self.runs)

    @property
    def p99(self) -> float:
        return statistics.median(m.p99_s for m in self.runs)

    @property
    def errors(self) -> int:
        return sum(m.wrk.socket_errors + m.wrk.non_2xx for m in self.runs)


@dataclass(slots=True)
class ServerFacts:
    threads: int = 0
    idle_cpu_early: float | None = None  # % of one core, first IDLE_WINDOW_S after start
    idle_cpu_late: float | None = None  # % of one core, last IDLE_WINDOW_S of the settle time
    exit_code: int | None = None  # the worst of all its processes
    killed: bool = False
    stop_seconds: float | None = None  # the slowest graceful stop
    processes: int = 0  # server processes it ran in (one per round, plus the idle phase)
    instructions: float | None = None  # per request, under valgrind (instructions.py)
    valgrind_rps: float | None = None  # its throughput under valgrind
    slowdown: float = 1.0  # how much the monitor's timing was stretched under valgrind
    log_errors: list[str] = field(default_factory=list)  # tracebacks and error lines it logged


def paired(s: Summary, bare: Summary) -> float | None:
    """Median over the rounds of this variant's req/s over the bare app's in the same round."""
    bare_by_round = {m.round: m.wrk.requests_per_s for m in bare.runs}
    ratios = [
        m.wrk.requests_per_s / bare_by_round[m.round] for m in s.runs if m.round in bare_by_round
    ]
    return statistics.median(ratios) if ratios else None


def summarise(variants: list[Variant], runs: list[Measurement]) -> list[Summary]:
    out = [Summary(v) for v in variants]
    by_key = {s.variant.key: s for s in out}
    for m in runs:
        by_key[m.variant].runs.append(m)
    return [s for s in out if s.runs]


def _pct(x: float) -> str:
    return f"{x * 100:.1f}%"


def table(summaries: list[Summary]) -> list[str]:
    bare = next((s for s in summaries if s.variant.key == "bare"), None)
    rows = [
        "| variant | median req/s | req/s per round | vs bare | vs bare, paired | p50 (ms) "
        "| p99 (ms) | p99 vs bare | errors | stalls logged |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for s in summaries:
        per_round = ", ".join(f"{m.wrk.requests_per_s:,.0f}" for m in s.runs)
        ratio = _pct(s.rps / bare.rps) if bare else "n/a"
        pair = paired(s, bare) if bare else None
        p99_ratio = _pct(s.p99 / bare.p99) if bare and bare.p99 else "n/a"
        stalls = str(sum(m.stalls_logged for m in s.runs)) if s.variant.stall_marker else "-"
        rows.append(
            f"| {s.variant.label} | {s.rps:,.0f} | {per_round} | {ratio} "
            f"| {_pct(pair) if pair is not None else 'n/a'} | {s.p50 * 1000:.2f} "
            f"| {s.p99 * 1000:.2f} | {p99_ratio} | {s.errors} | {stalls} |"
        )
    return rows


def targets(summaries: list[Summary], facts: dict[str, ServerFacts] | None = None) -> list[str]:
    by = {s.variant.key: s for s in summaries}
    bare, instr = by.get("bare"), by.get("instrumentator")
    lines: list[str] = []
    if bare is None:
        return ["- no bare run: no targets evaluated"]
    for s in summaries:
        if not s.variant.loopsafe:
            continue
        ratio = s.rps / bare.rps
        pair = paired(s, bare)
        ok = "met" if ratio >= THROUGHPUT_TARGET else "**not met**"
        lines.append(
            f"- {s.variant.label} keeps ≥ {_pct(THROUGHPUT_TARGET)} of bare throughput: "
            f"{_pct(ratio)}, {ok}"
            + (f" (paired by round: {_pct(pair)}" if pair is not None else " (")
            + (
                f"; predicted from instructions per request: {_pct(pred)})"
                if facts and (pred := predicted(facts, s.variant.key)) is not None
                else ")"
            )
        )
        if instr is not None:
            cost, instr_cost = 1 - ratio, 1 - instr.rps / bare.rps
            ok = "met" if cost < instr_cost else "**not met**"
            lines.append(
                f"- {s.variant.label} costs less than prometheus-fastapi-instrumentator: "
                f"{_pct(cost)} vs {_pct(instr_cost)} of bare throughput, {ok}"
            )
        p99 = s.p99 / bare.p99
        ok = "met" if p99 <= P99_TARGET else "**not met**"
        lines.append(
            f"- {s.variant.label} p99 within {_pct(P99_TARGET - 1)} of bare: "
            f"{s.p99 * 1000:.2f} ms vs {bare.p99 * 1000:.2f} ms ({_pct(p99)}), {ok}"
        )
    return lines


def notes(summaries: list[Summary]) -> list[str]:
    out: list[str] = []
    bare = next((s for s in summaries if s.variant.key == "bare"), None)
    if bare is not None and len(bare.runs) > 1:
        values = [m.wrk.requests_per_s for m in bare.runs]
        p99s = [m.p99_s for m in bare.runs]
        out.append(
            "noise: the bare app alone ranged over "
            f"{_pct((max(values) - min(values)) / bare.rps)} of its median throughput and "
            f"{_pct((max(p99s) - min(p99s)) / bare.p99)} of its median p99 across the rounds; "
            "differences smaller than that are not resolved by this run"
        )
    runs = [m for s in summaries for m in s.runs]
    if runs:
        busiest = max(runs, key=lambda m: m.other_cpu + m.steal_cpu)
        out.append(
            "other load: during the measured runs, processes other than the server and wrk used "
            f"at most {busiest.other_cpu:.1f}% of a CPU and the hypervisor reported at most "
            f"{max(m.steal_cpu for m in runs):.1f}% steal time (from `/proc/stat`)"
        )
    for s in summaries:
        for m in s.runs:
            if m.other_cpu > OTHER_LOAD_LIMIT or m.steal_cpu > OTHER_LOAD_LIMIT:
                out.append(
                    f"**{s.variant.label}, round {m.round} was measured on a busy machine**: "
                    f"{m.other_cpu:.0f}% of a CPU used by other processes, {m.steal_cpu:.0f}% "
                    "stolen; rerun on a quiet machine"
                )
            if m.wrk.socket_errors or m.wrk.non_2xx:
                out.append(
                    f"{s.variant.label}, round {m.round}: {m.wrk.socket_errors} socket errors, "
                    f"{m.wrk.non_2xx} non-2xx responses"
                )
            if m.stalls_logged and s.variant.loopsafe:
                out.append(
                    f"{s.variant.label}, round {m.round}: {m.stalls_logged} stalls logged under "
                    f"load; last lines: {m.log_tail}"
                )
    return out


def predicted(facts: dict[str, ServerFacts], key: str) -> float | None:
    """The throughput ratio to bare that the instruction counts predict for a CPU-bound server:
    bare's instructions per request over this variant's."""
    bare, this = facts.get("bare"), facts.get(key)
    if bare is None or this is None or not bare.instructions or not this.instructions:
        return None
    return bare.instructions / this.instructions


def cost_table(variants: list[Variant], facts: dict[str, ServerFacts], settle: int) -> list[str]:
    def pct(x: float | None) -> str:
        return "n/a" if x is None else f"{x:.1f}%"

    base = facts["bare"].instructions if "bare" in facts else None
    rows = [
        "| variant | instructions per request | added vs bare | predicted vs bare "
        f"| threads | idle CPU, first 10 s | idle CPU, {max(settle - 10, 0)}-{settle} s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for v in variants:
        f = facts[v.key]
        count = f.instructions
        added = f"{count - base:+,.0f}" if count is not None and base is not None else "n/a"
        pred = predicted(facts, v.key)
        rows.append(
            f"| {v.label} | {'n/a' if count is None else f'{count:,.0f}'} | {added} "
            f"| {_pct(pred) if pred is not None else 'n/a'} | {f.threads} "
            f"| {pct(f.idle_cpu_early)} | {pct(f.idle_cpu_late)} |"
        )
    return rows


def _slowdown(facts: dict[str, ServerFacts]) -> float | None:
    bare = facts.get("bare")
    return bare.slowdown if bare is not None and bare.instructions else None


def server_notes(variants: list[Variant], facts: dict[str, ServerFacts]) -> list[str]:
    errors = sum(len(facts[v.key].log_errors) for v in variants)
    processes = sum(facts[v.key].processes for v in variants)
    out = [
        f"the servers' stderr holds {errors} tracebacks or error lines in all "
        f"({processes} server processes)"
    ]
    for v in variants:
        f = facts[v.key]
        if f.killed or f.exit_code not in (0, None):
            out.append(
                f"{v.label}: the server exited {f.exit_code}"
                + (" after SIGKILL (it ignored SIGINT for 10 s)" if f.killed else "")
            )
        if f.log_errors:
            out.append(f"{v.label} logged errors, e.g. `{f.log_errors[0][:200]}`")
    return out


def section(
    summaries: list[Summary],
    facts: dict[str, ServerFacts],
    argv: list[str],
    settings: dict[str, int],
    packages: dict[str, str],
    extra_notes: list[str],
) -> str:
    rounds, duration, warmup = settings["rounds"], settings["duration"], settings["warmup"]
    settle = settings["settle"]
    variants = [s.variant for s in summaries]
    md = [
        SECTION_TITLE,
        "",
        "What the runtime monitor costs a server that never blocks: a trivial `async def` route "
        "returning a small dict, served by uvicorn (one worker, `--loop asyncio --http h11 "
        "--no-access-log`) pinned to CPU 0 with `taskset -c 0`, loaded by "
        f"`taskset -c 1 wrk -t1 -c{settings['connections']} -d{duration}s --latency` on CPU 1. "
        "The variants are the same app bare, with loopsafe's monitor (threshold 50 ms, "
        "heartbeat on the asyncio loop's iterations, watchdog thread asleep on the heartbeat's "
        "alarm and waking every 0.25 s) without and "
        "with its Prometheus sink, with prometheus-fastapi-instrumentator (`instrument()` only, no "
        "`/metrics` scrapes during the run), and bare under asyncio debug mode. Neither "
        "metrics endpoint is scraped, so what is measured is the per-request and background cost.",
        "",
        "Reproduce from the repository root, with the project's virtualenv active (needs `wrk`, "
        "see `benchmarks/README.md`):",
        "",
        "```sh",
        command_line("monitor_overhead.py", argv),
        "```",
        "",
        f"First all {len(summaries)} servers start together and sit idle for {settle} s, "
        "which gives their idle CPU use (below); then they are stopped. Throughput: every "
        "round starts a fresh server process per variant, one at a time, warms it up with a "
        f"{warmup} s wrk run, measures it {settings['repeats']} times for {duration} s, keeps its "
        "fastest run and stops it; the variants take turns in a rotated order over "
        f"{rounds} round{'s' if rounds != 1 else ''}, and the processes of a round share one hash "
        "seed (`PYTHONHASHSEED` = the round's number). Each step takes out a source of noise "
        "larger than the cost measured (what remains: *monitor overhead, run to run*): two "
        "processes of the very same app differ by several percent for their whole life, mostly by their hash seed (how the hot dicts lay out), so the "
        "variants of a round share it and the rounds vary it; the host's noise only ever slows "
        "a run, in stretches of seconds, so a process's fastest run is its own speed. The "
        "table gives the median over the rounds; *vs bare* compares with the bare app of the "
        "same run; *vs bare, paired* is the median of the per-round ratios (each variant "
        "against the bare run of its round, close in time). p50 and p99 are the medians of "
        "wrk's `--latency` percentiles: p50 of each process's fastest run, p99 the lowest of "
        "its runs (a hiccup of the host lasting a few milliseconds moves p99, not throughput). "
        "*stalls logged* counts the stall lines the server wrote (loopsafe's `loop blocked` warnings, asyncio's `Executing ... took` warnings) "
        "while measured.",
        "",
        *table(summaries),
        "",
        "Targets on this machine:",
        "",
        *targets(summaries, facts),
        "",
        "Cost per request without timing noise: *instructions per request* is the work of the "
        "whole server process per request, counted by valgrind (`runtime_bench/instructions.py`"
        ": the same uvicorn command under `valgrind --tool=cachegrind` with `PYTHONHASHSEED=0`, "
        f"serving exactly {settings['vg_small']:,} and then {settings['vg_large']:,} "
        f"`GET /json` over {settings['connections']} keep-alive connections; the difference "
        "divided by the difference in requests, so start-up cancels out). The bare app's count "
        "repeats to within a few instructions, the monitor's to within about 0.5% (its "
        "per-second work depends on how long the run takes). valgrind slows the server down"
        + (f" {slowdown:.0f} times" if (slowdown := _slowdown(facts)) else "")
        + ", so the monitor's heartbeat interval and stall threshold (and asyncio's slow-callback "
        "threshold) are stretched by that factor: its per-second work then weighs per request "
        "what it weighs natively (the watchdog's 4 wake-ups a second are not stretched, so the "
        "count slightly overstates the monitor). *predicted vs bare* is bare's count over the variant's, the "
        "throughput ratio it implies for a CPU-bound server. *idle CPU* is the CPU time of each "
        "whole server process, in % of one core, while all of them sat idle; *threads* counts "
        "its OS threads.",
        "",
        *cost_table(variants, facts, settle),
        "",
    ]
    all_notes = [*extra_notes, *server_notes(variants, facts), *notes(summaries)]
    if all_notes:
        md += ["Notes:", "", *[f"- {n}" for n in all_notes], ""]
    md += machine_lines(packages)
    return "\n".join(md)
