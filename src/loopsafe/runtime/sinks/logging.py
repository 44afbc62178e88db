"""One structured log line per stall: `loop blocked 212 ms in GET /report by app/report.py:88 ...`."""

from __future__ import annotations

import logging
import os

from loopsafe.runtime.watchdog import StallEvent

log = logging.getLogger("loopsafe.runtime")


class LogSink:
    """Logs each stall as a warning, with the fields as ``extra`` for structured handlers."""

    def on_stall(self, event: StallEvent) -> None:
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
        log.warning(
            "loop blocked %d ms in %s by %s%s",
            round(event.duration_s * 1000),
            event.route or "no request",
            by,
            culprit,
            extra={"loopsafe_stall": event.to_json()},
        )
