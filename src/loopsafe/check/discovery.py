"""Finds the Python files to check and the module name each is imported by."""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass
from pathlib import Path

from loopsafe._errors import InputError

# The directories ruff skips by default, and our own cache.
DEFAULT_EXCLUDE = (
    ".bzr",
    ".direnv",
    ".eggs",
    ".git",
    ".git-rewrite",
    ".hg",
    ".ipynb_checkpoints",
    ".mypy_cache",
    ".nox",
    ".pants.d",
    ".pyenv",
    ".pytest_cache",
    ".pytype",
    ".ruff_cache",
    ".svn",
    ".tox",
    ".venv",
    ".vscode",
    "__pypackages__",
    "_build",
    "buck-out",
    "dist",
    "node_modules",
    "site-packages",
    "venv",
    "__pycache__",
    ".loopsafe_cache",
)


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A file to check: where it is, how to show it, and its module names."""

    path: Path
    display: str
    module: str
    is_package: bool
    aliases: tuple[str, ...]


def discover(
    paths: list[str], exclude: tuple[str, ...] = (), cwd: Path | None = None
) -> list[SourceFile]:
    """Files under ``paths`` (files given by name are always checked), sorted, without duplicates."""
    cwd = cwd or Path.cwd()
    excluded = _Excluder(exclude)
    found: dict[Path, SourceFile] = {}
    for raw in paths:
        root = Path(raw)
        if not root.exists():
            raise InputError(
                f"path not found: {raw} (argument PATH): check the spelling or the current directory"
            )
        root = root.resolve()
        if root.is_file():
            if root.suffix not in (".py", ".pyw"):
                raise InputError(
                    f"not a Python file: {raw} (argument PATH): pass .py files or directories"
                )
            found.setdefault(root, _source(root, root.parent, cwd))
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            rel = os.path.relpath(dirpath, root)
            prefix = "" if rel == "." else rel.replace(os.sep, "/") + "/"
            dirnames[:] = sorted(d for d in dirnames if not excluded(d, prefix + d, directory=True))
            for name in filenames:
                if name.endswith(".py") and not excluded(name, prefix + name, directory=False):
                    file = Path(dirpath, name)
                    if file not in found:
                        found[file] = _source(file, root, cwd)
    return sorted(found.values(), key=lambda s: s.display)


class _Excluder:
    """Exclusion by name (a set lookup) or by glob on the name or the path below the root."""

    def __init__(self, patterns: tuple[str, ...]) -> None:
        self.names = set(DEFAULT_EXCLUDE)
        globs = []
        for pattern in patterns:
            pattern = pattern.rstrip("/")
            if any(c in pattern for c in "*?[/"):
                globs.append(fnmatch.translate(pattern))
                globs.append(fnmatch.translate(pattern + "/*"))
            else:
                self.names.add(pattern)
        self.glob = re.compile("|".join(f"(?:{g})" for g in globs)) if globs else None

    def __call__(self, name: str, rel: str, *, directory: bool) -> bool:
        if name in self.names or (directory and name.endswith(".egg-info")):
            return True
        return self.glob is not None and bool(self.glob.match(name) or self.glob.match(rel))


def _source(file: Path, root: Path, cwd: Path) -> SourceFile:
    is_package = file.name == "__init__.py"
    parts: list[str] = [] if is_package else [file.stem]
    directory = file.parent
    # The package chain: parents holding an __init__.py, as Python imports them.
    while (directory / "__init__.py").exists() and directory.parent != directory:
        parts.insert(0, directory.name)
        directory = directory.parent
    chain = ".".join(parts)
    # Directories between the checked root and the package chain count as namespace packages,
    # so `app/routers/users.py` with no __init__.py files is still `app.routers.users`.
    names = [chain]
    if directory != root and directory.is_relative_to(root):
        names.insert(0, ".".join([*directory.relative_to(root).parts, *parts]))
    if not (root / "__init__.py").exists() and root.name.isidentifier():
        names.append(f"{root.name}.{names[0]}" if names[0] else root.name)
    names = [n for n in dict.fromkeys(names) if n]
    try:
        display = file.relative_to(cwd).as_posix()
    except ValueError:
        display = file.as_posix()
    return SourceFile(file, display, names[0] if names else file.stem, is_package, tuple(names[1:]))
