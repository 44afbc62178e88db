"""Audit trail, written by BackgroundTasks (sync functions there run in the thread pool)."""

import json
from datetime import UTC, datetime

from app.settings import settings


def record(event: str, **fields: object) -> None:
    settings.export_dir.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"at": datetime.now(UTC).isoformat(), "event": event, **fields})
    with open(settings.export_dir / "audit.log", "a", encoding="utf-8") as fh:
        fh.write(line + "\n")
