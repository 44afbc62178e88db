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
    for source, (summary, problem, hit, digest) in zip(
        files, _index_all(files, stats, cache), strict=True
    ):
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


Indexed = tuple[dict[str, Any] | None, tuple[Any, ...] | None, int, str | None]
# Below this many files to index, starting worker processes costs more than it saves.
_PARALLEL_MIN_FILES = 150


def _index_all(
    files: list[SourceFile], stats: list[os.stat_result | None], cache: IndexCache
) -> list[Indexed]:
    """(summary, problem, 1 if from cache, content hash) per file, indexing misses in parallel."""
    results: list[Indexed | None] = []
    misses: list[int] = []
    for i, (source, st) in enumerate(zip(files, stats, strict=True)):
        if st is None:
            results.append((None, (1, 1, "cannot read file", False), 0, None))
            continue
        entry = cache.get(str(source.path))
        same = entry is not None and entry[3:5] == (source.module, source.is_package)
        if same and entry is not None and entry[0:2] == (st.st_mtime_ns, st.st_size):
            results.append((entry[5], entry[6], 1, entry[2]))
            continue
        results.append(None)
        misses.append(i)
    jobs = []
    for i in misses:
        source = files[i]
        entry = cache.get(str(source.path))
        known = (
            entry[2]
            if entry is not None and entry[3:5] == (source.module, source.is_package)
            else None
        )
        jobs.append((str(source.path), source.module, source.is_package, known))
    for i, job, (digest, summary, problem, unchanged) in zip(misses, jobs, _map(jobs), strict=True):
        st = stats[i]
        assert st is not None
        if unchanged:  # touched, not changed: the cached index still holds
            entry = cache.get(job[0])
            assert entry is not None
            cache.put(job[0], (st.st_mtime_ns, st.st_size, *entry[2:]))
            results[i] = (entry[5], entry[6], 1, digest)
            continue
        if digest is not None:
            cache.put(
                job[0], (st.st_mtime_ns, st.st_size, digest, job[1], job[2], summary, problem)
            )
        results[i] = (summary, problem, 0, digest)
    return [r for r in results if r is not None]


def _map(jobs: list[tuple[str, str, bool, str | None]]) -> list[tuple[Any, ...]]:
    if len(jobs) >= _PARALLEL_MIN_FILES and (os.cpu_count() or 1) > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        if "fork" in multiprocessing.get_all_start_methods():
            workers = min(os.cpu_count() or 1, 8)
            try:
                context = multiprocessing.get_context("fork")
                with ProcessPoolExecutor(workers, mp_context=context) as pool:
                    chunk = max(1, len(jobs) // (workers * 8))
                    return list(pool.map(_index_path, jobs, chunksize=chunk))
            except (OSError, RuntimeError):
                pass  # no processes to be had here: index in this one
    return [_index_path(job) for job in jobs]


def _index_path(job: tuple[str, str, bool, str | None]) -> tuple[Any, ...]:
    """(digest, summary, problem, unchanged) for one file; runs in a worker process."""
    path, module, is_package, known = job
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        return None, None, (1, 1, f"cannot read file: {exc.strerror}", False), False
    digest = hashlib.sha256(data).hexdigest()
    if digest == known:
        return digest, None, None, True
    summary, problem = index_file(data, module, is_package)
    return digest, summary, problem, False


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
