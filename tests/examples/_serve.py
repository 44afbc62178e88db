"""Serve an example app under uvicorn with loopsafe's monitor readable over HTTP.

    python tests/examples/_serve.py APP_DIR PORT

Runs from APP_DIR (the examples use relative paths and the package name `app`), imports
`app.main:app`, installs the monitor unless the app already did (`app.main.monitor`), and
adds `GET /_test/loopsafe-snapshot` returning `Monitor.snapshot()`, so a test in another
process can see the stalls and their culprit lines.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys


def main() -> None:
    app_dir, port = sys.argv[1], int(sys.argv[2])
    os.chdir(app_dir)
    sys.path.insert(0, app_dir)
    import uvicorn
    from starlette.requests import Request
    from starlette.responses import JSONResponse

    import loopsafe

    # The apps' own INFO lines (shutdown, drained tasks) go to the log the tests read.
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    module = importlib.import_module("app.main")
    app = module.app
    monitor = getattr(module, "monitor", None) or loopsafe.install(app, threshold_ms=40)

    async def snapshot(request: Request) -> JSONResponse:
        return JSONResponse(monitor.snapshot())

    app.router.add_route("/_test/loopsafe-snapshot", snapshot, methods=["GET"])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
