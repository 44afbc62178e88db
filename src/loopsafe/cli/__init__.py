"""The ``loopsafe`` command. argparse keeps start-up fast; each subcommand is its own module."""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from typing import NoReturn

from loopsafe import __version__
from loopsafe._errors import LoopsafeError, UsageError
from loopsafe.cli import check, doctor, probe, rules


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (command line): see `{self.prog} --help`")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="loopsafe", description="Keep the event loop of ASGI apps unblocked.")
    parser.add_argument("--version", action="version", version=f"loopsafe {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    check.add_parser(sub)
    rules.add_parsers(sub)
    probe.add_parser(sub)
    doctor.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 clean, 1 findings, 2 error, 130 interrupted)."""
    debug = "--debug" in (sys.argv[1:] if argv is None else argv)
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 2
        code: int = args.handler(args)
        sys.stdout.flush()
        return code
    except LoopsafeError as exc:
        print(f"loopsafe: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("loopsafe: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`loopsafe check | head`): exit quietly, as a filter should.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except Exception as exc:
        if debug:
            traceback.print_exc()
        print(
            f"loopsafe: error: internal error: {type(exc).__name__}: {exc} "
            "(run with --debug for the traceback, and please report it)",
            file=sys.stderr,
        )
        return 2
