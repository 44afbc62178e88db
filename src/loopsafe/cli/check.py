"""``loopsafe check``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from loopsafe._errors import UsageError


def _codes(value: str) -> list[str]:
    return [c.strip().upper() for c in value.split(",") if c.strip()]


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "check",
        help="find code that blocks the event loop",
        description="Find code that runs on the event loop and blocks it.",
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="files or directories (default: .)")
    p.add_argument("--format", choices=("text", "json", "sarif", "github"), default="text")
    p.add_argument(
        "--select", type=_codes, help="rule codes or prefixes to enable (comma-separated)"
    )
    p.add_argument("--ignore", type=_codes, default=[], help="rule codes or prefixes to disable")
    p.add_argument(
        "--extend-select", type=_codes, default=[], help="codes to enable on top of the defaults"
    )
    p.add_argument("--statistics", action="store_true", help="print the count of findings per rule")
    p.add_argument("--exit-zero", action="store_true", help="exit 0 even when there are findings")
    p.add_argument("--no-cache", action="store_true", help="neither read nor write .loopsafe_cache")
    p.add_argument(
        "--fix", action="store_true", help="apply the safe fixes, then report what remains"
    )
    p.add_argument(
        "--diff", action="store_true", help="print the safe fixes as a diff; change nothing"
    )
    p.add_argument(
        "--config", type=Path, help="a pyproject.toml to read instead of the nearest one"
    )
    p.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from loopsafe.check import Report
    from loopsafe.check import run as check_run
    from loopsafe.check.report import FORMATS, HUMAN_FORMATS
    from loopsafe.check.report.text import footer, statistics
    from loopsafe.config import load_settings

    paths = args.paths or ["."]
    if args.config is not None and not args.config.is_file():
        raise UsageError(
            f"config file not found: {args.config} (--config): pass an existing pyproject.toml"
        )
    settings = load_settings(Path(paths[0]), args.config)

    def check() -> Report:
        return check_run(
            paths,
            settings,
            select_codes=tuple(args.select) if args.select is not None else None,
            ignore=tuple(args.ignore),
            extend_select=tuple(args.extend_select),
            # Fixing needs the hash of every file as it was read: no result cache.
            use_cache=not args.no_cache and not (args.fix or args.diff),
        )

    report = check()
    fixed = 0
    if args.fix or args.diff:
        from loopsafe.check.fix import apply

        outcome = apply(report.findings, report.digests, write=args.fix and not args.diff)
        for message in outcome.skipped:
            print(f"loopsafe: warning: {message}", file=sys.stderr)
        if args.diff:
            sys.stdout.write(outcome.diff)
            n = outcome.fixed
            print(f"Would fix {n} problem{'s' if n != 1 else ''}.", file=sys.stderr)
            return 1 if n else 0
        fixed = outcome.fixed
        if fixed:
            report = check()  # positions moved: report what remains from the fixed files
    if args.statistics:
        sys.stdout.write(statistics(report) + ("\n" if report.findings else ""))
    else:
        sys.stdout.write(FORMATS[args.format](report))
    if args.format in HUMAN_FORMATS and not args.statistics:
        print(footer(report))
    if fixed:
        print(f"Fixed {fixed} problem{'s' if fixed != 1 else ''}.", file=sys.stderr)
    return 1 if report.findings and not args.exit_zero else 0
