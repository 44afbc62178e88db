"""Apps written from the FastAPI, Starlette, httpx and SQLAlchemy docs raise no alarm."""

from __future__ import annotations

from pathlib import Path

import pytest

from loopsafe.check import run
from loopsafe.config import Settings

DOCS_APPS = Path(__file__).parent / "docs_apps"
APPS = ["fastapi_sqlalchemy_async", "fastapi_sync_sqlalchemy", "starlette_httpx"]


@pytest.mark.parametrize("app", APPS)
def test_docs_app_is_clean(app: str) -> None:
    app_dir = DOCS_APPS / app
    assert (app_dir / "__init__.py").is_file(), f"{app_dir} is missing"
    report = run([str(app_dir)], Settings(root=app_dir), use_cache=False)
    assert report.findings == [], "\n".join(
        f"{f.path}:{f.line}: {f.code} {f.message}" for f in report.findings
    )
