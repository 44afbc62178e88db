"""Per-file index cache, keyed by file stat then content hash, loopsafe version and Python version.

One ``marshal`` file holds every file's index, and another the last run's findings, so a warm run
reads one small file, and a run with a few changed files re-indexes only those. Each file is
written atomically (temp file + rename): an interrupted run never leaves a half-written cache.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from loopsafe import __version__

# (mtime_ns, size, sha256, module, is_package, summary | None, problem | None)
Entry = tuple[Any, ...]
_PY = f"py{sys.version_info[0]}{sys.version_info[1]}"
_NAME = f"index-{_PY}.marshal"
# The findings of the last run with its key (every file's stat, the settings, the catalogue): a
# run where nothing changed reads only this small file.
_RESULTS = f"results-{_PY}.marshal"


class IndexCache:
    """Loads and saves the cache; never raises for cache problems (a bad cache is just a miss)."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory / __version__ if directory is not None else None
        self._entries: dict[str, Entry] | None = None
        self.dirty = False

    @property
    def entries(self) -> dict[str, Entry]:
        if self._entries is None:
            self._entries = self._load(_NAME) or {}
        return self._entries

    def _load(self, name: str) -> Any:
        if self.directory is None:
            return None
        with contextlib.suppress(OSError, EOFError, ValueError, TypeError):
            data = marshal.loads((self.directory / name).read_bytes())
            if isinstance(data, dict):
                return data
        return None

    def get(self, key: str) -> Entry | None:
        return self.entries.get(key)

    def load_results(self, key: str) -> list[Any] | None:
        data = self._load(_RESULTS)
        if data is not None and data.get("key") == key and isinstance(data.get("findings"), list):
            return list(data["findings"])
        return None

    def save_results(self, key: str, findings: list[Any]) -> None:
        self._write(_RESULTS, {"key": key, "findings": findings})

    def put(self, key: str, entry: Entry) -> None:
        self.entries[key] = entry
        self.dirty = True

    def save(self, keep: set[str]) -> None:
        """Write entries for the files of this run (dropping files that are gone)."""
        if self.directory is None:
            return
        stale = set(self.entries) - keep
        if not self.dirty and not stale:
            return
        for key in stale:
            del self.entries[key]
        self._write(_NAME, self.entries)

    def _write(self, name: str, data: Any) -> None:
        if self.directory is None:
            return
        with contextlib.suppress(OSError):
            self.directory.mkdir(parents=True, exist_ok=True)
            top = self.directory.parent
            if not (top / "CACHEDIR.TAG").exists():
                (top / "CACHEDIR.TAG").write_text(
                    "Signature: 8a477f597d28d172789f06886806bc55\n# loopsafe cache: safe to delete\n"
                )
                (top / ".gitignore").write_text("*\n")
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(marshal.dumps(data))
                os.replace(tmp, self.directory / name)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
