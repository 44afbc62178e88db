"""JSON: ``{"schema_version": 1, "findings": [...]}`` with stable keys."""

from __future__ import annotations

import json as _json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from loopsafe.check import Report

SCHEMA_VERSION = 1


def render(report: Report) -> str:
    data = {"schema_version": SCHEMA_VERSION, "findings": [f.to_json() for f in report.findings]}
    return _json.dumps(data, indent=2) + "\n"
