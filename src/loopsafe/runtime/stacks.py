"""Reading the loop thread's stack from the watchdog thread, and telling the app's frames apart."""

from __future__ import annotations

import linecache
import os
import sys
import sysconfig
from dataclasses import dataclass
from types import FrameType
from typing import Any

_LOOPSAFE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_LIBRARY_ROOTS = tuple(
    {
        os.path.realpath(p) + os.sep
        for key in ("stdlib", "platstdlib", "purelib", "platlib")
        if (p := sysconfig.get_paths().get(key))
    }
    | {os.path.realpath(p) + os.sep for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
)
MAX_FRAMES = 40


@dataclass(frozen=True, slots=True)
class Frame:
    """One frame: where it is, and the source line (read from the file, off the loop)."""

    path: str
    line: int
    function: str

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "line": self.line,
            "function": self.function,
            "code": linecache.getline(self.path, self.line).strip(),
        }

    @property
    def label(self) -> str:
        return f"{self.path}:{self.line} {self.function}"


def sample(thread_id: int) -> tuple[Frame, ...] | None:
    """The stack of thread ``thread_id``, outermost first, at most MAX_FRAMES innermost frames."""
    frame: FrameType | None = sys._current_frames().get(thread_id)
    if frame is None:
        return None
    frames: list[Frame] = []
    while frame is not None and len(frames) < MAX_FRAMES:
        code = frame.f_code
        frames.append(Frame(code.co_filename, frame.f_lineno or 0, code.co_qualname))
        frame = frame.f_back
    frames.reverse()
    return tuple(frames)


_app_cache: dict[str, bool] = {}


def is_app_frame(path: str) -> bool:
    """The app's own code: not the standard library, not an installed package, not loopsafe."""
    cached = _app_cache.get(path)
    if cached is None:
        real = os.path.realpath(path) if not path.startswith("<") else path
        cached = not (
            path.startswith("<")
            or real.startswith(_LOOPSAFE + os.sep)
            or "site-packages" in real
            or "dist-packages" in real
            or real.startswith(_LIBRARY_ROOTS)
        )
        _app_cache[path] = cached
    return cached


def user_frame(stack: tuple[Frame, ...]) -> Frame | None:
    """The innermost frame in the app's own code."""
    for frame in reversed(stack):
        if is_app_frame(frame.path):
            return frame
    return None
