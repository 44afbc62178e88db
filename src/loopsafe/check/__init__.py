"""``loopsafe check``: find code that runs on the event loop and blocks it.

Standard library only: importing this package must not pull in any third-party module.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from typing import Any

from loopsafe.check.cache import IndexCache
from loopsafe.check.callgraph import ProjectGraph
from loopsafe.check.catalogue import load_catalogue
from loopsafe.check.context import CheckContext, FileProblem
from loopsafe.check.discovery import SourceFile, discover
from loopsafe.check.finding import Finding
from loopsafe.check.index import index_source
from loopsafe.check.registry import Rule, select
from loopsafe.check.rules import ALL_RULES
from loopsafe.config import Settings

__all__ = ["Report", "run"]


@dataclass(slots=True)
class Report:
    """The result of one run: findings sorted by place, and what was read."""

    findings: list[Finding]
    files: int
    rules: list[Rule] = field(default_factory=list)
    cached: int = 0
    digests: dict[str, str] = field(default_factory=dict)  # path -> sha256 of what was checked


def run(
    paths: list[str],
    settings: Settings,
    *,
    select_codes: tuple[str, ...] | None = None,
    ignore: tuple[str, ...] = (),
    extend_select: tuple[str, ...] = (),
    use_cache: bool = True,
) -> Report:
    """Check ``paths``. CLI selections add to the configuration's, as ruff's do."""
    rules = select(
        ALL_RULES,
        select_codes if select_codes is not None else settings.select,
        (*settings.ignore, *ignore),
        (*settings.extend_select, *extend_select),
        source="--select/--ignore or " + settings.source,
    )
    files = discover(paths, settings.exclude)
    cache = IndexCache(
        (settings.cache_dir or settings.root / ".loopsafe_cache") if use_cache else None
    )
    stats = [_stat(source) for source in files]
    run_key = _run_key(files, stats, rules, settings)
    if use_cache:
        previous = cache.load_results(run_key)
        if previous is not None:
            return Report([Finding.from_tuple(t) for t in previous], len(files), rules, len(files))
    catalogue = load_catalogue(settings.catalogue, settings.allow)
    modules: dict[str, dict[str, Any]] = {}
    module_paths: dict[str, str] = {}
    aliases: dict[str, str] = {}
    noqa: dict[str, dict[int, tuple[str, ...] | None]] = {}
    problems: list[FileProblem] = []
    digests: dict[str, str] = {}
    cached = 0
    for source, st in zip(files, stats, strict=True):
        summary, problem, hit, digest = _index(source, st, cache)
        if digest is not None:
            digests[source.display] = digest
        cached += hit
        if problem is not None:
            problems.append(FileProblem(source.display, *problem))
        if summary is None:
            continue
        module = source.module
        if module in modules:  # two scripts of the same name: keep both, imports find the first
            module = f"{module}#{source.display}"
        else:
            for alias in source.aliases:
                aliases.setdefault(alias, module)
        modules[module] = summary
        module_paths[module] = source.display
        noqa[source.display] = summary["noqa"]
    cache.save({str(s.path) for s in files})
    ctx = CheckContext(ProjectGraph(modules, module_paths, catalogue, aliases), problems)
    findings: list[Finding] = []
    for r in rules:
        for finding in r.check(ctx):
            if not _suppressed(finding, noqa.get(finding.path, {})):
                findings.append(finding)
    findings.sort(key=Finding.sort_key)
    if use_cache:
        cache.save_results(run_key, [f.to_tuple() for f in findings])
    return Report(findings, len(files), rules, cached, digests)


def _stat(source: SourceFile) -> os.stat_result | None:
    try:
        return os.stat(source.path)
    except OSError:
        return None


def _run_key(
    files: list[SourceFile],
    stats: list[os.stat_result | None],
    rules: list[Rule],
    settings: Settings,
) -> str:
    from loopsafe import __version__
    from loopsafe.check.catalogue import builtin_text

    digest = hashlib.sha256()
    fingerprint = (__version__, [r.code for r in rules], settings.allow, repr(settings.catalogue))
    digest.update(repr(fingerprint).encode())
    digest.update(builtin_text().encode())
    for source, st in zip(files, stats, strict=True):
        stamp = (st.st_mtime_ns, st.st_size) if st is not None else None
        digest.update(repr((source.display, source.module, source.aliases, stamp)).encode())
    return digest.hexdigest()


def _suppressed(finding: Finding, noqa: dict[int, tuple[str, ...] | None]) -> bool:
    for line in (finding.line, finding.end_line):
        if line in noqa:
            codes = noqa[line]
            if codes is None or finding.code in codes:
                return True
    return False


def _index(
    source: SourceFile, st: os.stat_result | None, cache: IndexCache
) -> tuple[dict[str, Any] | None, tuple[Any, ...] | None, int, str | None]:
    """(summary, problem, 1 if from cache, content hash) for one file."""
    key = str(source.path)
    if st is None:
        return None, (1, 1, "cannot read file", False), 0, None
    entry = cache.get(key)
    if (
        entry is not None
        and entry[0] == st.st_mtime_ns
        and entry[1] == st.st_size
        and entry[3:5]
        == (
            source.module,
            source.is_package,
        )
    ):
        return entry[5], entry[6], 1, entry[2]
    try:
        data = source.path.read_bytes()
    except OSError as exc:
        return None, (1, 1, f"cannot read file: {exc.strerror}", False), 0, None
    digest = hashlib.sha256(data).hexdigest()
    if (
        entry is not None
        and entry[2] == digest
        and entry[3:5] == (source.module, source.is_package)
    ):
        cache.put(key, (st.st_mtime_ns, st.st_size, *entry[2:]))
        return entry[5], entry[6], 1, digest
    summary, problem = index_file(data, source.module, source.is_package)
    cache.put(
        key,
        (st.st_mtime_ns, st.st_size, digest, source.module, source.is_package, summary, problem),
    )
    return summary, problem, 0, digest


def index_file(
    data: bytes, module: str, is_package: bool
) -> tuple[dict[str, Any] | None, tuple[Any, ...] | None]:
    """Index one file's bytes; a file that cannot be parsed gives a problem instead of a summary."""
    try:
        return index_source(data, module, is_package), None
    except SyntaxError as exc:
        line = exc.lineno or 1
        return None, (line, max(exc.offset or 1, 1), f"{exc.msg} at line {line}", False)
    except ValueError as exc:  # null bytes
        return None, (1, 1, str(exc), False)
    except RecursionError:
        return None, (1, 1, "nesting too deep for the parser", False)
    except MemoryError:
        return None, (1, 1, "file too large to parse", False)
    except Exception as exc:  # a bug in loopsafe: report it as a finding, keep going
        return None, (1, 1, f"{type(exc).__name__}: {exc}", True)
