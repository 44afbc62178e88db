"""The page in real headless Chromium, against a real uvicorn server that stalls on request."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from tests.dashboard.browser import console_errors
from tests.dashboard.conftest import TOKEN, build
from tests.runtime.conftest import culprit_line
from tests.runtime.test_monitor import wait_for_stalls

SHED = {
    "policy": "aimd",
    "limit": 24,
    "in_flight": 7,
    "queued": 2,
    "accepted": 1234,
    "rejected": 56,
    "rejected_by_reason": {"queue_full": 50, "deadline": 6},
    "by_priority": {
        "high": {"accepted": 400, "rejected": 0},
        "low": {"accepted": 834, "rejected": 56},
    },
}


def until(check: Callable[[], Any], timeout: float = 15.0) -> Any:
    """Poll ``check`` until it returns something truthy (the page updates once a second)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = check()
        except Exception:  # an element replaced by a redraw between find and read
            found = None
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {check}")
        time.sleep(0.1)


def css(driver: Any, selector: str) -> list[Any]:
    return list(driver.find_elements("css selector", selector))


def open_dashboard(driver: Any, url: str) -> None:
    driver.get(f"{url}/_loopsafe/?token={TOKEN}")
    until(lambda: css(driver, "#status")[0].text == "live")


def test_page_loads_live_without_console_errors(serve: Any, browser: Any) -> None:
    app, monitor = build()
    server = serve(app)
    app.middleware_stack.stream_s = 1.0  # the stream ends and the browser resumes it, quietly
    with httpx.Client(timeout=10) as client:
        assert client.get(server.url + "/sync").status_code == 200
    open_dashboard(browser, server.url)
    assert browser.current_url == f"{server.url}/_loopsafe/"  # the token left the address bar
    assert browser.title == "loopsafe dashboard"
    until(lambda: int(css(browser, "#lag-chart")[0].get_attribute("data-points")) > 0)
    routes = until(lambda: css(browser, "#routes tbody tr"))
    assert "GET /sync" in routes[0].text
    assert css(browser, "#shed-off")[0].is_displayed()  # snapshot() has no "shed" on this branch
    facts = css(browser, "#facts")[0].text
    assert f"pid\n{monitor.snapshot()['pid']}" in facts
    time.sleep(3.5)  # a few live updates, and a few reconnects of the stream
    assert css(browser, "#status")[0].text == "live"
    assert console_errors(browser) == []


def test_chart_marks_a_new_stall_and_its_stack_opens_on_click(serve: Any, browser: Any) -> None:
    app, monitor = build()
    server = serve(app)
    wait_for_stalls(monitor, 1)  # the lifespan's
    app.middleware_stack.stream_s = 2.0  # reconnects during the test, which must not matter
    open_dashboard(browser, server.url)
    chart = css(browser, "#lag-chart")[0]
    until(lambda: css(browser, "#lag-chart .stall-mark[data-id='1']"))
    assert float(chart.get_attribute("data-max")) < 0.3
    points = int(chart.get_attribute("data-points"))

    with httpx.Client(timeout=10) as client:
        assert client.get(server.url + "/sleep/300").status_code == 200
    (stall,) = wait_for_stalls(monitor, 2)[1:]
    mark = f"#lag-chart .stall-mark[data-id='{stall['id']}']"
    until(lambda: css(browser, mark))
    assert float(chart.get_attribute("data-max")) >= stall["duration_s"] >= 0.25
    until(lambda: int(chart.get_attribute("data-points")) > points)  # one point per second
    recent = until(lambda: css(browser, "#recent tbody tr"))
    assert "GET /sleep/{ms}" in recent[0].text

    def click() -> bool:
        css(browser, mark + " circle.dot")[0].click()
        return True

    until(click)
    detail = css(browser, "#stall-detail")[0]
    until(lambda: detail.get_attribute("data-id") == str(stall["id"]))
    assert detail.is_displayed()
    assert "GET /sleep/{ms}" in css(browser, "#stall-facts")[0].text
    assert "loop blocked" in css(browser, "#stall-title")[0].text
    line = culprit_line("stalling_app.py", "sleep")
    (user,) = css(browser, "#stall-stack li.user")
    assert f"stalling_app.py:{line}" in user.text
    assert "time.sleep(ms / 1000)" in user.text
    assert len(css(browser, "#stall-stack li")) == len(monitor.snapshot()["stalls"][-1]["stack"])
    css(browser, "#stall-close")[0].click()
    until(lambda: not detail.is_displayed())
    assert console_errors(browser) == []


def test_token_is_enforced_in_the_browser(serve: Any, browser: Any) -> None:
    app, _ = build()
    server = serve(app)
    browser.get(f"{server.url}/_loopsafe/")
    assert "401" in browser.find_element("tag name", "body").text
    assert not css(browser, "#lag-chart")
    browser.get(f"{server.url}/_loopsafe/?token=wrong")
    assert "403" in browser.find_element("tag name", "body").text
    browser.get(f"{server.url}/_loopsafe/api?token=wrong")
    assert "403" in browser.find_element("tag name", "body").text
    console_errors(browser)  # the refused loads above are logged as errors: expected
    open_dashboard(browser, server.url)  # the right token: the cookie carries the session
    status = browser.execute_async_script(
        "const done = arguments[0]; fetch('api').then((r) => done(r.status));"
    )
    assert status == 200
    assert console_errors(browser) == []


def test_load_shedding_state_is_shown_when_present(serve: Any, browser: Any) -> None:
    app, monitor = build()
    plain = monitor.snapshot
    monitor.snapshot = lambda max_events=None: {**plain(max_events), "shed": SHED}
    server = serve(app)
    open_dashboard(browser, server.url)
    until(lambda: css(browser, "#shed-on")[0].is_displayed())
    assert not css(browser, "#shed-off")[0].is_displayed()
    facts = css(browser, "#shed-facts")[0].text
    for expected in ("policy\naimd", "limit\n24", "in flight\n7", "queued\n2", "rejected\n56"):
        assert expected in facts
    reasons = [row.text for row in css(browser, "#shed-reasons tbody tr")]
    assert reasons == ["queue_full 50", "deadline 6"]
    priorities = [row.text for row in css(browser, "#shed-priorities tbody tr")]
    assert priorities == ["high accepted 400 · rejected 0", "low accepted 834 · rejected 56"]
    assert console_errors(browser) == []


def test_page_starts_over_when_it_reaches_another_worker(serve: Any, browser: Any) -> None:
    app, monitor = build()
    server = serve(app)
    wait_for_stalls(monitor, 1)
    open_dashboard(browser, server.url)
    until(lambda: css(browser, "#recent tbody tr"))
    plain = monitor.snapshot
    other = plain()["pid"] + 1
    # What a reconnection to another worker looks like to the page: another pid, its own data.
    monitor.snapshot = lambda max_events=None: {**plain(max_events), "pid": other}
    until(lambda: f"pid\n{other}" in css(browser, "#facts")[0].text)
    assert not css(browser, "#lag-chart .stall-mark[data-id='1']")  # the old worker's stall
    assert console_errors(browser) == []
