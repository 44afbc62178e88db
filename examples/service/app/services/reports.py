"""CPU-bound report building. Runs in a process pool, so it must stay picklable and pure."""

import csv
import io
import statistics
from collections import Counter, defaultdict


def build_sales_report(rows: list[tuple[int, int, str]]) -> dict:
    """rows: (order_id, total_cents, ISO day)."""
    per_day: dict[str, int] = defaultdict(int)
    for _, total, day in rows:
        per_day[day] += total
    totals = [total for _, total, _ in rows]
    return {
        "orders": len(rows),
        "revenue_cents": sum(totals),
        "median_order_cents": int(statistics.median(totals)) if totals else 0,
        "busiest_day": Counter(day for *_, day in rows).most_common(1)[0][0] if rows else None,
        "per_day": dict(sorted(per_day.items())),
    }


def render_csv(rows: list[tuple[int, int, str]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["order_id", "total_cents", "day"])
    writer.writerows(rows)
    return buf.getvalue()
