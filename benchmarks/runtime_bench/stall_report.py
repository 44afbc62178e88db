"""The ``## stall detection`` section: one table per detector, the checks, and the machine."""

from __future__ import annotations

from runtime_bench.common import REPO_ROOT, command_line, log_errors, machine_lines
from runtime_bench.scoring import Matched, Report, Row
from runtime_bench.stall_run import ModeRun
from runtime_bench.traffic import CLEAN_ROUTES

SECTION_TITLE = "## stall detection"


def frac(n: int, d: int) -> str:
    return f"{n}/{d} ({n / d * 100:.0f}%)" if d else "-"


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _blocking(rows: list[Row]) -> list[Row]:
    return [r for r in rows if r.scenario.tag is not None]


def monitor_table(rows: list[Row]) -> list[str]:
    out = [
        "| scenario | requests | blocked (ms) | detected | attributed (line and route) "
        "| line right | route right | reported (ms) | extra reports | false stalls |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        blocking = r.scenario.tag is not None
        out.append(
            f"| {r.scenario.key} | {r.requests} | {ms(Row.mean_ms(r.blocked_s))} "
            f"| {frac(r.detected, r.requests) if blocking else '-'} "
            f"| {frac(r.attributed, r.detected) if blocking else '-'} "
            f"| {r.line_ok if blocking else '-'} | {r.route_ok if blocking else '-'} "
            f"| {ms(Row.mean_ms(r.reported_s))} | {r.extra} | {r.false} |"
        )
    return out


def debug_table(rows: list[Row]) -> list[str]:
    out = [
        "| scenario | requests | blocked (ms) | detected | reported (ms) "
        "| names the route function | names the culprit line | extra reports | false stalls |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        blocking = r.scenario.tag is not None
        out.append(
            f"| {r.scenario.key} | {r.requests} | {ms(Row.mean_ms(r.blocked_s))} "
            f"| {frac(r.detected, r.requests) if blocking else '-'} "
            f"| {ms(Row.mean_ms(r.reported_s))} "
            f"| {frac(r.names_function, r.detected) if blocking else '-'} "
            f"| {frac(r.names_line, r.detected) if blocking else '-'} | {r.extra} | {r.false} |"
        )
    return out


def totals(rows: list[Row], matched: Matched, debug: bool) -> str:
    blocking = _blocking(rows)
    requests = sum(r.requests for r in blocking)
    detected = sum(r.detected for r in blocking)
    false = sum(r.false for r in rows) + len(matched.outside)
    if debug:
        named = sum(r.names_function for r in blocking)
        lines = sum(r.names_line for r in blocking)
        return (
            f"all blocking scenarios: detected {frac(detected, requests)}; the message names "
            f"the route's function {named} times and the culprit line {lines} times; "
            f"{false} false stalls ({len(matched.outside)} outside any induced stall)"
        )
    attributed = sum(r.attributed for r in blocking)
    return (
        f"all blocking scenarios: detected {frac(detected, requests)}, attributed to the "
        f"culprit line and route {frac(attributed, detected)}; {false} false stalls "
        f"({len(matched.outside)} outside any induced stall)"
    )


def _describe(r: Report) -> str:
    if r.message:
        return f"{r.duration_s * 1000:.0f} ms `{r.message[:160]}`"
    return f"{r.duration_s * 1000:.0f} ms in {r.route or 'no request'} at {r.where} `{r.code}`"


def _found(row: Row, matched: Matched) -> list[Report]:
    if row.scenario.key != "sleep-100":
        return []
    return [r for reports in matched.by_request.values() for r in reports if r.message][:1]


def checks(run: ModeRun, rows: list[Row], matched: Matched) -> list[str]:
    """What else the run showed: misattributions, stray reports, threads, shutdown."""
    out: list[str] = []
    label = run.mode.label
    for r in rows:
        if r.wrong:
            out.append(
                f"{label}, {r.scenario.key}: {len(r.wrong)} reports not on the culprit line and "
                f"route, e.g. {_describe(r.wrong[0])}"
            )
        if r.failed:
            out.append(f"{label}, {r.scenario.key}: {r.failed} requests failed")
        if r.scenario.tag is not None and r.request_id_ok != r.detected and not run.mode.debug:
            out.append(
                f"{label}, {r.scenario.key}: the request id was right for {r.request_id_ok} of "
                f"{r.detected} detected stalls"
            )
    for stray in matched.outside[:5]:
        out.append(f"{label}: reported outside any induced stall: {_describe(stray)}")
    snap = run.snapshot
    if snap is not None:
        logged = sum(1 for ln in run.log.splitlines() if "loop blocked" in ln)
        count, kept = snap.get("stall_count"), len(snap.get("stalls", []))
        agree = "agree" if count == kept == logged else "**differ**"
        clean = {
            k: v.get("stalls", 0) for k, v in snap.get("routes", {}).items() if k in CLEAN_ROUTES
        }
        out.append(
            f"{label}: `stall_count` {count}, events kept {kept}, `loop blocked` log lines "
            f"{logged}: they {agree}; stalls counted on the clean routes: "
            f"{sum(clean.values())}; `loopsafe-watchdog` threads while serving: "
            f"{run.threads.count('loopsafe-watchdog')}"
        )
    elif run.mode.debug:
        example = next((r for row in rows for r in _found(row, matched)), None)
        if example is not None:
            text = example.message.replace(str(REPO_ROOT) + "/", "")
            out.append(f"{label}: a typical message: `{text[:300]}...`")
    errors = log_errors(run.log)
    out.append(
        f"{label}: the server's stderr holds {len(errors)} tracebacks or error lines"
        + (f", e.g. `{errors[0][:200]}`" if errors else "")
    )
    stop = f"{run.stop_seconds:.1f} s" if run.stop_seconds is not None else "?"
    out.append(
        f"{label}: the server exited {run.exit_code} {stop} after SIGINT"
        + (" (killed after 10 s)" if run.killed else "")
    )
    if run.background_errors:
        out.append(f"{label}: {run.background_errors} clean background requests failed")
    return out


def section(
    runs: list[tuple[ModeRun, list[Row], Matched]],
    argv: list[str],
    settings: dict[str, float],
    packages: dict[str, str],
    extra_notes: list[str],
) -> str:
    reps, gap, threads = int(settings["reps"]), settings["gap"], int(settings["background"])
    md = [
        SECTION_TITLE,
        "",
        "Whether the runtime monitor notices a blocked event loop, and whether it names the line "
        "and the route that blocked it, next to asyncio's own debug mode. A FastAPI app "
        "(`benchmarks/runtime_bench/stall_app.py`, with a `BaseHTTPMiddleware` in front of every "
        "route) blocks the loop in known ways at lines marked `# culprit: <tag>`:",
        "",
        *[
            f"- `{r.scenario.key}` (`{r.scenario.route}`): {r.scenario.description}"
            for r in runs[0][1]
        ],
        "",
        "Reproduce from the repository root, with the project's virtualenv active:",
        "",
        "```sh",
        command_line("stall_detection.py", argv),
        "```",
        "",
        "uvicorn serves the app in a subprocess on 127.0.0.1 (one worker, `--loop asyncio --http "
        f"h11`). Each scenario is requested {reps} times, round-robin, one request at a time and "
        f"{gap:g} s apart, each with its own `x-request-id`, while {threads} threads send clean "
        "requests (`GET /json`, and `GET /clean`, which awaits `asyncio.sleep(0.1)`) every 20 ms. "
        "A stall is *detected* when a report carries the request's id or starts inside the "
        "request's time window; it is *attributed* when loopsafe's `user_frame` is a line marked "
        "for that scenario (both lines of the CPU loop are marked; for `gc`, when its "
        "`culprit` is the collector, `<gc>`) and its `route` is the scenario's route template. "
        "*blocked* is how long the blocking call took, timed in the "
        "server around it; *reported* is the mean duration of the longest report per detected "
        "stall; *extra reports* are further reports for the same request; *false stalls* are "
        "reports on the clean routes, or for the clean scenario's requests. loopsafe's figures "
        "come from `monitor.snapshot()` (read at the end through a sync route); asyncio's from "
        "its `Executing <Task ...> took X seconds` warnings in the server's stderr, in a second "
        "server without the monitor. loopsafe's duration is the length of the loop iteration "
        "that blocked (the server runs asyncio's loop, so its heartbeat is on the selector's "
        "iterations; on uvloop it is a timer's lateness, up to 10 ms short); asyncio's is the "
        "whole task step. In the `file` scenario both exceed *blocked*: freeing the 200 MiB "
        "buffer after the timed read blocks the loop too. In the `gc` scenario the app holds a "
        "big heap, frozen with `gc.freeze()` except while the route collects, so that no other "
        "request pays for it. asyncio's debug mode has to be "
        "switched on from the app's lifespan under uvicorn on Python 3.11 (see "
        "`benchmarks/README.md`).",
        "",
    ]
    for run, rows, matched in runs:
        md += [f"**{run.mode.label}**:", ""]
        md += debug_table(rows) if run.mode.debug else monitor_table(rows)
        md += ["", totals(rows, matched, run.mode.debug) + ".", ""]
    notes = [*extra_notes]
    for run, rows, matched in runs:
        notes += checks(run, rows, matched)
    md += ["Notes:", "", *[f"- {n}" for n in notes], ""]
    md += machine_lines(packages)
    return "\n".join(md)
