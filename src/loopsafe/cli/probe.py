"""``loopsafe probe``: run the app on loopback and find the routes that serialize."""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from loopsafe._errors import UsageError

EPILOG = """\
exit codes: 0 no route blocks, serializes or hangs; 1 some route does; 2 usage error, or the app
does not import, does not start, or its port is taken.
"""


def add_probe_options(parser: argparse.ArgumentParser) -> None:
    """The options `probe` and `doctor` share."""
    parser.add_argument("--app-dir", default=".", help="directory to import the app from")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free)")
    parser.add_argument(
        "-n",
        "--concurrency",
        type=int,
        default=16,
        dest="n",
        metavar="N",
        help="concurrent requests per route (default 16)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        metavar="S",
        help="per-request timeout; a route slower than this hangs (default 10)",
    )
    parser.add_argument(
        "--start-timeout",
        type=float,
        default=30.0,
        metavar="S",
        help="time the app gets to import and start (default 30)",
    )
    parser.add_argument(
        "--max-time",
        type=float,
        default=300.0,
        metavar="S",
        help="time budget of the whole probe; routes left are skipped (default 300)",
    )
    parser.add_argument(
        "--max-factor",
        type=float,
        default=1.5,
        metavar="F",
        help="a route above this serialization factor serializes (default 1.5)",
    )
    parser.add_argument(
        "--threshold-ms",
        type=float,
        default=20.0,
        metavar="MS",
        help="a loop blocked this long is a stall (default 20)",
    )
    parser.add_argument(
        "--unsafe", action="store_true", help="also send POST, PUT, PATCH and DELETE requests"
    )
    parser.add_argument(
        "--samples",
        metavar="FILE",
        help="TOML file of request samples (default: [tool.loopsafe.probe])",
    )
    parser.add_argument(
        "--route",
        action="append",
        default=[],
        metavar="PATTERN",
        help="probe only routes matching, e.g. 'GET /items/*' (repeatable)",
    )
    parser.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="PATTERN",
        help="leave routes matching out (repeatable)",
    )
    parser.add_argument("--html", metavar="FILE", help="also write a self-contained HTML report")
    parser.add_argument(
        "--json-file", metavar="FILE", help="also write the JSON results to FILE (with any output)"
    )


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "probe",
        help="run the app on 127.0.0.1 and measure which routes serialize",
        description="Start the app under uvicorn on 127.0.0.1 with loopsafe's monitor, send each "
        "route one request and then N at once, and report the routes whose requests do not "
        "overlap, with the line that blocked the event loop.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("app", nargs="?", metavar="MODULE:APP", help="the app's import path")
    parser.add_argument("--url", help="probe a server already running on 127.0.0.1 instead")
    parser.add_argument(
        "--token",
        default=os.environ.get("LOOPSAFE_DASHBOARD_TOKEN"),
        help="dashboard token of the --url server (its stalls come from there)",
    )
    add_probe_options(parser)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.set_defaults(handler=run)


def require_extra() -> None:
    missing = [m for m in ("uvicorn", "httpx", "rich") if importlib.util.find_spec(m) is None]
    if missing:
        raise UsageError(
            f"the probe needs {', '.join(missing)} (not installed): pip install 'loopsafe[probe]'"
        )


def options_from(args: argparse.Namespace, app: str | None, url: str | None) -> Any:
    from loopsafe.probe import ProbeOptions

    if not 1 <= args.n <= 256:
        raise UsageError(f"-n must be between 1 and 256, got {args.n} (-n)")
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be between 0 and 65535, got {args.port} (--port)")
    for flag in ("timeout", "start_timeout", "max_time", "max_factor", "threshold_ms"):
        if getattr(args, flag) <= 0:
            raise UsageError(
                f"--{flag.replace('_', '-')} must be positive (--{flag.replace('_', '-')})"
            )
    for flag in ("html", "json_file"):
        target = getattr(args, flag)
        if target and not os.path.isdir(os.path.dirname(os.path.abspath(target))):
            option = "--" + flag.replace("_", "-")
            raise UsageError(f"cannot write {target}: its directory does not exist ({option})")
    if app is not None and not os.path.isdir(args.app_dir):
        raise UsageError(f"--app-dir {args.app_dir} is not a directory (--app-dir)")
    return ProbeOptions(
        app=app,
        url=url,
        app_dir=os.path.abspath(args.app_dir),
        port=args.port,
        n=args.n,
        timeout=args.timeout,
        start_timeout=args.start_timeout,
        max_time=args.max_time,
        max_factor=args.max_factor,
        threshold_ms=args.threshold_ms,
        unsafe=args.unsafe,
        samples=args.samples,
        routes=tuple(args.route),
        exclude=tuple(args.exclude),
        token=getattr(args, "token", None),
    )


def probe_with_progress(options: Any, quiet: bool = False) -> Any:
    """Run the probe with a progress bar on stderr (when stderr is a terminal)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from loopsafe.probe import run_probe

    console = Console(stderr=True)
    show = not quiet and console.is_terminal
    bar: AbstractContextManager[Any] = (
        Progress(
            TextColumn("probing"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.description}"),
            console=console,
            transient=True,
        )
        if show
        else nullcontext()
    )
    with bar as progress:
        state: dict[str, Any] = {}

        def on_plan(planned: list[Any]) -> None:
            if progress is not None:
                total = sum(r.skip is None for r in planned)
                state["task"] = progress.add_task("", total=total)

        def on_route(route: str) -> None:
            if progress is not None:
                if state.get("started"):
                    progress.advance(state["task"])
                state["started"] = True
                progress.update(state["task"], description=route)

        return run_probe(options, on_plan=on_plan, progress=on_route)


def write_json(data: Any, path: str) -> None:
    from loopsafe.probe.output import write_text_atomic

    write_text_atomic(path, json.dumps(data, indent=2) + "\n")


def run(args: argparse.Namespace) -> int:
    if (args.app is None) == (args.url is None):
        raise UsageError(
            "give the app's import path (MODULE:APP) or --url, not both (command line)"
        )
    require_extra()
    options = options_from(args, args.app, args.url)
    result = probe_with_progress(options)
    if args.html:
        from loopsafe.probe.html import write_html

        write_html(result, args.html)
    if args.json_file:
        write_json(result.to_json(), args.json_file)
    if args.json:
        json.dump(result.to_json(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        from rich.console import Console

        from loopsafe.probe.render import print_table

        console = Console(highlight=False)
        if not console.is_terminal:
            console = Console(highlight=False, width=120)
        print_table(result, console)
    return 1 if result.problems else 0
