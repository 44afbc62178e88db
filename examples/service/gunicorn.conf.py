"""gunicorn settings: `gunicorn -c gunicorn.conf.py app.main:app` from examples/service.

Two uvicorn workers, each with its own event loop, monitor and process pool. Prometheus
multi-process mode makes /metrics (any worker) report the sum over the workers.
"""

import asyncio
import os
import shutil
import tempfile
from pathlib import Path

worker_class = "uvicorn.workers.UvicornWorker"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
bind = os.environ.get("BIND", "127.0.0.1:8000")
graceful_timeout = 15

# prometheus_client reads this when it is first imported, so set it before any worker starts.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="shop-prometheus-")


def on_starting(server: object) -> None:
    # Stale files from an earlier run would be added to this run's totals.
    metrics_dir = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    # Create the schema and seed once, in the master, so workers do not race on it.
    from app.db import init_db
    from app.settings import VAR, settings
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    async def setup() -> None:
        engine = create_async_engine(settings.database_url)
        await init_db(engine, async_sessionmaker(engine, expire_on_commit=False))
        await engine.dispose()

    VAR.mkdir(parents=True, exist_ok=True)
    asyncio.run(setup())


def child_exit(server: object, worker: object) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]
