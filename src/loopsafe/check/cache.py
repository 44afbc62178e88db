"""Per-file index cache, keyed by file stat then content hash, loopsafe version and Python version.

One ``marshal`` file per cache directory holds every entry, so a warm run reads one file. It is
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

Entry = tuple[
    Any, ...
]  # (mtime_ns, size, sha256, module, is_package, summary | None, problem | None)
_NAME = f"index-py{sys.version_info[0]}{sys.version_info[1]}.marshal"


class IndexCache:
    """Loads and saves the cache; never raises for cache problems (a bad cache is just a miss)."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory / __version__ if directory is not None else None
        self.entries: dict[str, Entry] = {}
        self.dirty = False
        if self.directory is not None:
            with contextlib.suppress(OSError, EOFError, ValueError, TypeError):
                data = marshal.loads((self.directory / _NAME).read_bytes())
                if isinstance(data, dict):
                    self.entries = data

    def get(self, key: str) -> Entry | None:
        return self.entries.get(key)

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
                    out.write(marshal.dumps(self.entries))
                os.replace(tmp, self.directory / _NAME)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
