"""SARIF 2.1.0, for code-scanning dashboards. LS102 chains are ``codeFlows``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from loopsafe import __version__

if TYPE_CHECKING:
    from loopsafe.check import Report
    from loopsafe.check.finding import ChainLink

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _location(
    path: str,
    line: int,
    column: int,
    end_line: int | None = None,
    end_column: int | None = None,
    message: str | None = None,
) -> dict[str, Any]:
    region: dict[str, Any] = {"startLine": line, "startColumn": column}
    if end_line is not None:
        region["endLine"] = end_line
        region["endColumn"] = end_column
    loc: dict[str, Any] = {
        "physicalLocation": {"artifactLocation": {"uri": path}, "region": region}
    }
    if message:
        loc["message"] = {"text": message}
    return loc


def _flow(chain: tuple[ChainLink, ...]) -> dict[str, Any]:
    steps = [
        {"location": _location(link.path, link.line, link.column, message=link.label)}
        for link in chain[:-1]
    ]
    return {"threadFlows": [{"locations": steps}]}


def render(report: Report) -> str:
    rules = [
        {
            "id": r.code,
            "name": r.name,
            "shortDescription": {"text": r.summary},
            "fullDescription": {"text": r.doc},
            "help": {"text": r.doc, "markdown": r.doc},
            "defaultConfiguration": {"level": "error"},
            "properties": {"family": r.family},
        }
        for r in report.rules
    ]
    results = []
    for f in report.findings:
        result: dict[str, Any] = {
            "ruleId": f.code,
            "level": "error",
            "message": {"text": f.message + (f"\n{f.help}" if f.help else "")},
            "locations": [_location(f.path, f.line, f.column, f.end_line, f.end_column)],
        }
        if f.chain:
            result["codeFlows"] = [_flow(f.chain)]
        results.append(result)
    log = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "loopsafe",
                        "version": __version__,
                        "informationUri": "https://github.com/loopsafe/loopsafe",
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2) + "\n"
