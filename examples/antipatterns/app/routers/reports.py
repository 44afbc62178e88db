"""Sales reports: pandas exports, the legacy revenue database and analytics."""
import asyncio
import functools
import queue
import sqlite3

import pandas as pd
import psycopg2
from fastapi import APIRouter
from fastapi.responses import FileResponse, Response, StreamingResponse

from app.services import reports as svc
from app.settings import settings

router = APIRouter()


@router.get("/daily/{day}")
def daily(day: str) -> dict:
    # Fine: sync route; pandas runs in the thread pool.
    return svc.daily_summary(day)


@router.get("/top-products")
async def top_products(limit: int = 10) -> list[dict]:
    path = settings.export_dir / "sales.csv"
    loop = asyncio.get_running_loop()
    # Fine: the pandas work runs in the default executor.
    return await loop.run_in_executor(None, functools.partial(svc.compute_top_products, path, limit))


@router.get("/sales/by-region")
async def sales_by_region() -> dict:
    path = settings.export_dir / "sales.csv"

    def aggregate() -> dict:
        df = pd.read_csv(path)
        return df.groupby("region")["amount"].sum().round(2).to_dict()

    # Fine: the closure is handed to a worker thread, never called on the loop.
    return await asyncio.to_thread(aggregate)


@router.get("/sales/preview")
async def sales_preview() -> dict:
    # DON'T: pandas.read_csv parses the whole file on the event loop
    df = pd.read_csv(settings.export_dir / "sales.csv")
    return {"rows": len(df), "columns": [str(c) for c in df.columns]}


@router.get("/sales/export")
async def export_sales() -> Response:
    # DON'T: open().read() pulls a multi-megabyte export into memory on the event loop
    data = open(settings.export_dir / "sales.csv", "rb").read()
    return Response(data, media_type="text/csv")


@router.get("/summary")
async def summary(days: int = 7) -> dict:
    # DON'T: asyncio.run() inside a running loop tries to start a second loop (and raises);
    # just await the coroutine
    totals = asyncio.run(svc.collect_totals(days))
    return {"days": days, "totals": totals}


@router.get("/summary.csv")
def summary_csv(days: int = 7) -> Response:
    # DON'T: asyncio.run() in a sync route starts a new event loop in the worker thread for
    # every request, and svc.collect_totals uses the app's shared AsyncClient, which belongs
    # to the main loop; make the route async and await the coroutine
    totals = asyncio.run(svc.collect_totals(days))
    lines = ["name,total"] + [f"{name},{total}" for name, total in totals.items()]
    return Response("\n".join(lines), media_type="text/csv")


@router.post("/exports/{region}")
async def export_region(region: str) -> FileResponse:
    job = svc.ExportJob(region)
    svc.report_pool.submit(svc.run_export, job)
    # DON'T: polls the flag every half second until the worker thread sets it; await
    # asyncio.wrap_future() of the submitted future instead
    while not job.done:
        await asyncio.sleep(0.5)
    return FileResponse(job.path, filename=f"sales-{region}.xlsx")


@router.post("/{report_id}/render")
async def render(report_id: int) -> Response:
    future = svc.report_pool.submit(svc.render_report, report_id)
    # DON'T: Future.result() waits for the worker thread while holding the loop
    html = future.result(timeout=60)
    return Response(html, media_type="text/html")


@router.get("/finished/next")
async def next_finished() -> dict:
    try:
        # DON'T: queue.Queue.get blocks the loop until a worker publishes a result
        report_id = svc.finished_reports.get(timeout=2)
    except queue.Empty:
        return {"report_id": None}
    return {"report_id": report_id}


@router.get("/traffic/{sku}")
async def traffic(sku: str) -> dict:
    # DON'T: sqlite3.connect opens the analytics database synchronously
    conn = sqlite3.connect(settings.analytics_db)
    try:
        # DON'T: the query runs on the event loop as well
        views = conn.execute("SELECT count(*) FROM page_views WHERE sku = ?", (sku,)).fetchone()[0]
    finally:
        # Not flagged on its own: closing the connection is cheap next to the calls above.
        conn.close()
    return {"sku": sku, "views": views}


@router.get("/stream")
async def stream_progress(report_id: int) -> StreamingResponse:
    async def events():
        for pct in range(0, 101, 10):
            yield f"event: progress\ndata: {{\"report\": {report_id}, \"pct\": {pct}}}\n\n"
            # Fine: asyncio.sleep yields to the loop.
            await asyncio.sleep(1)

    return StreamingResponse(events(), media_type="text/event-stream")


async def legacy_revenue(year: int) -> dict:
    # DON'T: psycopg2 is a blocking driver; connect() does the TCP and auth handshake on the loop
    conn = psycopg2.connect(settings.legacy_pg_dsn)
    try:
        cur = conn.cursor()
        # DON'T: execute() waits for the legacy database on the loop
        cur.execute(
            "SELECT month, sum(amount) FROM invoices WHERE year = %s GROUP BY month ORDER BY month",
            (year,),
        )
        # Not flagged: a client-side psycopg2 cursor already holds every row after execute().
        rows = cur.fetchall()
    finally:
        # Not flagged on its own: close() only sends a terminate message.
        conn.close()
    return {"year": year, "revenue": {month: float(total) for month, total in rows}}


router.add_api_route("/legacy/revenue", legacy_revenue, methods=["GET"])
