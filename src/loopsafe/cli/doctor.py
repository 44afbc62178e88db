"""``loopsafe doctor``: ``check`` and ``probe`` together, each finding confirmed or not."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from loopsafe._errors import UsageError
from loopsafe.cli.probe import (
    add_probe_options,
    options_from,
    probe_with_progress,
    require_extra,
    write_json,
)

EPILOG = """\
exit codes: 0 no finding and no route that blocks, serializes or hangs; 1 some; 2 usage error,
or the app does not import, does not start, or its port is taken.
"""


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "doctor",
        help="check the code, probe the running app, and confirm each finding",
        description="Run `loopsafe check` on PATH and `loopsafe probe` on the app, then mark each "
        "blocking finding confirmed (a stall passed through its line) or static-only, and list "
        "the stalls no finding explains.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("path", metavar="PATH", help="the app's source directory")
    parser.add_argument(
        "--app",
        required=True,
        metavar="MODULE:APP",
        help="the app's import path, imported from PATH unless --app-dir",
    )
    add_probe_options(parser)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from loopsafe.check import run as check_run
    from loopsafe.config import load_settings

    if not os.path.exists(args.path):
        raise UsageError(f"{args.path} does not exist (PATH): give the app's source directory")
    require_extra()
    if args.app_dir == ".":
        args.app_dir = args.path if os.path.isdir(args.path) else os.path.dirname(args.path)
    report = check_run([args.path], load_settings(Path(args.path), None))
    options = options_from(args, args.app, None)
    probe = probe_with_progress(options)
    from loopsafe.probe.doctor import diagnose

    diagnosis = diagnose(report.findings, probe)
    if args.html:
        from loopsafe.probe.html import write_html

        write_html(probe, args.html, diagnosis)
    if args.json_file:
        write_json(diagnosis.to_json(), args.json_file)
    if args.json:
        json.dump(diagnosis.to_json(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print_diagnosis(diagnosis)
    return 1 if diagnosis.problems else 0


def print_diagnosis(diagnosis: Any) -> None:
    from rich.console import Console

    from loopsafe.probe.doctor import stall_seen
    from loopsafe.probe.render import print_table

    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=120)
    print_table(diagnosis.probe, console)
    console.print()
    styles = {"confirmed": "bold red", "static-only": "yellow", "not-runtime": "dim"}
    for confirmation in diagnosis.findings:
        finding = confirmation.finding
        where = f"{finding.path}:{finding.line}:{finding.column}"
        status = confirmation.status
        detail = f" ({confirmation.seen()})" if status == "confirmed" else ""
        console.print(
            f"[{styles[status]}]{status:>11}[/] {where}: {finding.code} {finding.message}{detail}"
        )
    for stall in diagnosis.runtime_only:
        frame = stall.get("user_frame") or stall.get("culprit") or {}
        console.print(
            f"[bold magenta]runtime-only[/] {frame.get('path')}:{frame.get('line')}: the loop was "
            f"blocked here ({stall_seen(stall)}), with no static finding here"
        )
    summary = diagnosis.to_json()["summary"]
    console.print(
        f"\n{summary['findings']} findings: {summary['confirmed']} confirmed at runtime, "
        f"{summary['static_only']} static-only, {summary['not_runtime']} not checkable at runtime; "
        f"{summary['runtime_only']} stall(s) with no finding; "
        f"{summary['routes_with_problems']} route(s) that block, serialize or hang"
    )
