#!/usr/bin/env python3
"""Benchmark: how fast ``loopsafe check`` is on a ~100,000-line FastAPI codebase.

The script first generates, deterministically from a seed, a synthetic but realistic FastAPI
project (routers, services, repositories, schemas, models, ``deps.py``, ``clients.py``, ``core/``,
``utils/``) with blocking mistakes planted at a known rate and a lot of correct async code around
them. It then times, each as a subprocess on the same tree:

* ``loopsafe check TREE`` cold (``TREE/.loopsafe_cache`` deleted first) and warm (run again);
* ``ruff check --select ASYNC --no-cache TREE`` and ruff again with its cache;
* ``flake8 --select ASYNC TREE`` (the flake8-async plugin).

For each it reports the median wall time over ``--repeat`` runs, the peak RSS, and what it printed,
matched against the planted mistakes. ``--write-docs`` updates the ``## check speed`` section of
``docs/benchmarks.md``.

Run it from the repository root with the project's virtualenv::

    python benchmarks/check_speed.py --write-docs

Only the standard library is used.

The tree generator lives in ``synth/`` and the timing, scoring and report code in ``speed/``;
see ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from speed.report import report, write_docs
from speed.scoring import misses
from speed.tables import speed_table
from speed.timing import build_cases, run_cases
from synth import TREE_MARKER, generate, planted_summary, verify_tree

REPO_ROOT = Path(__file__).resolve().parent.parent
DOCS_PATH = REPO_ROOT / "docs" / "benchmarks.md"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--out", type=Path, help="generate the tree here (and keep it) instead of a temp dir"
    )
    parser.add_argument("--lines", type=int, default=100_000, help="approximate size of the tree")
    parser.add_argument("--seed", type=int, default=20240611, help="generator seed")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per command")
    parser.add_argument(
        "--slow", type=float, default=60.0, help="run a command slower than this (s) once"
    )
    parser.add_argument(
        "--write-docs", action="store_true", help="update the section in docs/benchmarks.md"
    )
    parser.add_argument("--docs", type=Path, default=DOCS_PATH, help=argparse.SUPPRESS)
    parser.add_argument(
        "--generate-only", action="store_true", help="generate and verify the tree, time nothing"
    )
    parser.add_argument("--json", type=Path, help="also write the raw measurements here")
    parser.add_argument(
        "--tools",
        default="loopsafe,ruff,flake8",
        help="comma-separated subset of loopsafe,ruff,flake8",
    )
    args = parser.parse_args(argv)
    repeat = max(1, args.repeat)

    cleanup: str | None = None
    if args.out is not None:
        out = args.out.resolve()
        if out.exists() and any(out.iterdir()) and not (out / TREE_MARKER).exists():
            parser.error(
                f"{out} is not empty and was not made by this script; refusing to overwrite it"
            )
    else:
        cleanup = tempfile.mkdtemp(prefix="loopsafe-bench-")
        out = Path(cleanup) / "tree"
    try:
        started = time.perf_counter()
        tree = generate(out, args.seed, args.lines)
        problems = verify_tree(tree)
        print(
            f"generated {tree.lines:,} lines in {tree.files} .py files ({tree.domains} domains) "
            f"at {tree.root} in {time.perf_counter() - started:.1f} s; {planted_summary(tree)}",
            file=sys.stderr,
        )
        if problems:
            print("the generated tree has problems:", *problems[:20], sep="\n  ", file=sys.stderr)
            return 2
        if args.generate_only:
            return 0
        cases, versions = build_cases(tree.root)
        wanted = {t.strip() for t in args.tools.split(",")}
        cases = [c for c in cases if c.label.strip("`").split()[0] in wanted]
        run_cases(cases, tree.root, repeat, args.slow)
        result = report(tree, cases, versions, repeat, args.slow)
        print(result.markdown)
        for case in cases:
            if case.error:
                print(f"{case.label} failed: {case.argv}\n{case.error}", file=sys.stderr)
        loopsafe_score = next(
            (s for label, s in speed_table(tree, cases)[2].items() if "loopsafe" in label), None
        )
        if loopsafe_score is not None:
            missed = misses(tree, loopsafe_score)
            if missed:
                print(
                    "planted mistakes loopsafe did not report:",
                    *missed,
                    sep="\n  ",
                    file=sys.stderr,
                )
        if args.json is not None:
            args.json.write_text(json.dumps(result.data, indent=1, default=str) + "\n")
        if args.write_docs:
            write_docs(result.markdown, args.docs)
            print(f"updated {args.docs}", file=sys.stderr)
        return 0
    finally:
        if cleanup is not None:
            shutil.rmtree(cleanup, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
