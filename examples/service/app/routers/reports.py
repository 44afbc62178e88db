"""Reports: CPU work in a process pool, file I/O via threads / anyio.Path."""

import asyncio

import anyio
from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import Response

from app.deps import CurrentUser, SessionDep
from app.repositories.orders import sales_rows
from app.services.reports import build_sales_report, render_csv
from app.settings import settings

router = APIRouter()


@router.get("/sales")
async def sales_report(request: Request, session: SessionDep, _: CurrentUser) -> dict:
    rows = await sales_rows(session)
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(request.app.state.process_pool, build_sales_report, rows)


@router.post("/sales/export", status_code=status.HTTP_201_CREATED)
async def export_sales(session: SessionDep, _: CurrentUser) -> dict:
    rows = await sales_rows(session)
    text = await asyncio.to_thread(render_csv, rows)
    export_dir = anyio.Path(settings.export_dir)
    await export_dir.mkdir(parents=True, exist_ok=True)
    await (export_dir / "sales.csv").write_text(text, encoding="utf-8")
    return {"rows": len(rows), "file": "sales.csv"}


@router.get("/sales/export")
async def download_sales(_: CurrentUser) -> Response:
    path = settings.export_dir / "sales.csv"
    try:
        data = await asyncio.to_thread(path.read_bytes)
    except FileNotFoundError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no export yet; POST first") from None
    return Response(data, media_type="text/csv")
