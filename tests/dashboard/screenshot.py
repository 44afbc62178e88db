"""Take docs/img/dashboard.png: the dashboard during a stall, on a real server under light load.

    .venv/bin/python -m tests.dashboard.screenshot docs/img/dashboard.png

About 40 seconds of bounded traffic to 127.0.0.1: clean and sync requests, and now and then a
route that blocks the loop. Then the longest stall is opened and the whole page is captured.
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from tests.dashboard.browser import MISSING, chrome, console_errors
from tests.dashboard.conftest import TOKEN, build
from tests.runtime.conftest import Server

STALLS = ["/sleep/180", "/cpu", "/helper", "/sleep/420", "/dependency", "/sleep/90", "/middleware"]


def traffic(url: str, stop: threading.Event, paths: list[str], pause: float) -> None:
    with httpx.Client(timeout=10) as client:
        for _ in range(400):  # bounded, whatever happens
            if stop.is_set():
                return
            for path in paths:
                client.get(url + path)
            time.sleep(pause)


def main(out: str) -> int:
    if MISSING:
        print(f"screenshot: {MISSING}", file=sys.stderr)
        return 2
    app, _ = build()
    stop = threading.Event()
    with Server(app) as server, tempfile.TemporaryDirectory() as tmp:
        loaders = [
            threading.Thread(target=traffic, args=(server.url, stop, ["/clean"], 0.05)),
            threading.Thread(target=traffic, args=(server.url, stop, ["/clean", "/sync"], 0.1)),
            threading.Thread(target=traffic, args=(server.url, stop, ["/sync"], 0.3)),
        ]
        for t in loaders:
            t.start()
        driver = chrome(Path(tmp), 1400, 1000)
        try:
            driver.get(f"{server.url}/_loopsafe/?token={TOKEN}")
            with httpx.Client(timeout=10) as client:
                for path in STALLS * 2:
                    time.sleep(2.2)
                    client.get(server.url + path)
            time.sleep(3)
            marks = driver.find_elements("css selector", "#lag-chart .stall-mark")
            worst = max(
                marks,
                key=lambda m: -float(m.find_element("css selector", ".dot").get_attribute("cy")),
            )
            worst.find_element("css selector", ".dot").click()
            time.sleep(1.5)
            height = driver.execute_script("return document.documentElement.scrollHeight")
            metrics = {"width": 1400, "height": height, "deviceScaleFactor": 1, "mobile": False}
            driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)  # whole page
            driver.execute_script("window.scrollTo(0, 0)")
            time.sleep(1.2)
            driver.save_screenshot(out)
            errors = console_errors(driver)
        finally:
            driver.quit()
            stop.set()
            for t in loaders:
                t.join()
    if errors:
        print(f"screenshot: console errors: {errors}", file=sys.stderr)
        return 1
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1] if len(sys.argv) > 1 else "docs/img/dashboard.png"))
