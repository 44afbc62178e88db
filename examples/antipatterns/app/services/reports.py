"""Sales reports built with pandas."""
import queue
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from app.clients import payments
from app.settings import settings

report_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="reports")
finished_reports: queue.Queue[int] = queue.Queue()


@dataclass
class ExportJob:
    region: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    path: Path | None = None
    done: bool = False


def render_report(report_id: int) -> str:
    df = pd.read_csv(settings.export_dir / f"report-{report_id}.csv")
    html = df.to_html(index=False)
    finished_reports.put(report_id)
    return html


def run_export(job: ExportJob) -> None:
    """Runs in report_pool: writes the region's sales to an Excel file, then flags the job done."""
    df = pd.read_csv(settings.export_dir / "sales.csv")
    job.path = settings.export_dir / f"export-{job.id}.xlsx"
    df[df["region"] == job.region].to_excel(job.path, index=False)
    job.done = True


def compute_top_products(path: Path, limit: int) -> list[dict]:
    df = pd.read_csv(path)
    top = df.groupby("sku")["amount"].sum().nlargest(limit)
    return [{"sku": sku, "revenue": float(total)} for sku, total in top.items()]


def daily_summary(day: str) -> dict:
    df = pd.read_csv(settings.export_dir / "sales.csv", parse_dates=["sold_at"])
    today = df[df["sold_at"].dt.strftime("%Y-%m-%d") == day]
    return {"day": day, "orders": int(today["order_id"].nunique()), "revenue": float(today["amount"].sum())}


async def collect_totals(days: int) -> dict[str, float]:
    resp = await payments.get("/totals", params={"days": days})
    resp.raise_for_status()
    return resp.json()
