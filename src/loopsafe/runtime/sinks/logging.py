"""One structured log line per stall: `loop blocked 212 ms in GET /report by app/report.py:88 ...`."""

from __future__ import annotations

import logging
import os

from loopsafe.runtime.gcpauses import GcShare
from loopsafe.runtime.watchdog import StallEvent

log = logging.getLogger("loopsafe.runtime")


class LogSink:
    """Logs each stall as a warning, with the fields as ``extra`` for structured handlers."""

    def on_stall(self, event: StallEvent) -> None:
        if event.by_gc and event.gc is not None:
            self._log(event, _gc_cause(event.gc))
            return
        where = event.user_frame or event.culprit
        if where is not None:
            code = where.to_json()["code"]
            location = f"{os.path.relpath(where.path) if not where.path.startswith('<') else where.path}:{where.line}"
            by = f"{location} {code}" if code else f"{location} {where.function}"
        else:
            by = "an unknown frame"
        culprit = ""
        if (
            event.culprit is not None
            and event.user_frame is not None
            and event.culprit != event.user_frame
        ):
            culprit = (
                f" (inside {event.culprit.function} at {event.culprit.path}:{event.culprit.line})"
            )
        self._log(event, f"{by}{culprit}")

    def _log(self, event: StallEvent, cause: str) -> None:
        log.warning(
            "loop blocked %d ms in %s by %s",
            round(event.duration_s * 1000),
            event.route or "no request",
            cause,
            extra={"loopsafe_stall": event.to_json()},
        )


def _gc_cause(share: GcShare) -> str:
    """``garbage collection (generation 2, 58 ms, 120341 objects freed) ...``: the collector
    ran for most of the stall, whatever line was running around it."""
    runs = f", {share.collections} collections" if share.collections > 1 else ""
    return (
        f"garbage collection (generation {share.generation}, {round(share.seconds * 1000)} ms"
        f"{runs}, {share.collected} objects freed); gc.freeze() after startup keeps the "
        "collector from scanning the objects that live as long as the app"
    )
