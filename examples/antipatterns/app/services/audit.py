"""Audit trail, posted to the audit service."""
from datetime import UTC, datetime

from app.clients import webhooks
from app.settings import settings


async def record(event: str, user_id: int, **fields: object) -> None:
    entry = {"at": datetime.now(UTC).isoformat(), "event": event, "user_id": user_id, **fields}
    resp = await webhooks.post(settings.audit_url, json=entry)
    resp.raise_for_status()
