"""Who sees the dashboard: off unless enabled; token or allow-list; anonymous clients get no data."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

import loopsafe
from loopsafe._errors import ConfigError
from loopsafe.runtime.dashboard.auth import Access, parse_allow
from tests.dashboard.conftest import TOKEN, auth, build
from tests.runtime import stalling_app

DENIED = {"401 Unauthorized: a token is needed\n", "403 Forbidden\n"}


def test_off_unless_enabled(serve: Any, client: httpx.Client) -> None:
    app, _ = stalling_app.build(threshold_ms=50, prometheus=False)
    server = serve(app)
    assert client.get(server.url + "/_loopsafe/api", headers=auth()).status_code == 404


@pytest.mark.parametrize("endpoint", ["/", "/api", "/api/stalls/1", "/events", "/static/app.js"])
def test_anonymous_and_wrong_token_get_no_data(
    serve: Any, client: httpx.Client, endpoint: str
) -> None:
    app, _ = build()
    server = serve(app)
    client.get(server.url + "/sleep/120")  # there is a stall with a stack and paths to hide
    url = server.url + "/_loopsafe" + endpoint
    anonymous = client.get(url)
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    for wrong in (
        {"Authorization": "Bearer nope"},
        {"X-Loopsafe-Token": TOKEN[:-1]},
        {"Cookie": "loopsafe_dashboard=" + TOKEN},  # the cookie is not the token
    ):
        assert client.get(url, headers=wrong).status_code == 403
    assert client.get(url, params={"token": "nope"}).status_code == 403
    for denied in (anonymous, client.get(url, headers={"X-Loopsafe-Token": "x"})):
        assert denied.text in DENIED  # nothing else: no figure, no path, no stack


@pytest.mark.parametrize(
    "how",
    [
        {"headers": {"Authorization": f"Bearer {TOKEN}"}},
        {"headers": {"authorization": f"bearer {TOKEN}"}},
        {"headers": {"X-Loopsafe-Token": TOKEN}},
        {"params": {"token": TOKEN}},
    ],
)
def test_token_by_header_or_query(serve: Any, client: httpx.Client, how: dict[str, Any]) -> None:
    app, monitor = build()
    server = serve(app)
    response = client.get(server.url + "/_loopsafe/api", **how)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.json()["pid"] == monitor.snapshot()["pid"]


def test_page_with_query_token_sets_a_cookie_and_drops_the_token(
    serve: Any, client: httpx.Client
) -> None:
    app, _ = build()
    server = serve(app)
    first = client.get(server.url + "/_loopsafe/", params={"token": TOKEN})
    assert first.status_code == 303
    assert first.headers["location"] == "./"
    cookie = first.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/_loopsafe" in cookie
    assert TOKEN not in cookie
    # The client keeps the cookie: the page, the API and the stream need no token after that.
    page = client.get(server.url + "/_loopsafe/")
    assert page.status_code == 200
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert client.get(server.url + "/_loopsafe/api").status_code == 200


def test_token_from_the_environment(
    serve: Any, client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOOPSAFE_DASHBOARD_TOKEN", "from-env")
    app, _ = build(dashboard_token=None)
    server = serve(app)
    url = server.url + "/_loopsafe/api"
    assert client.get(url, headers={"X-Loopsafe-Token": "from-env"}).status_code == 200
    assert client.get(url, headers=auth()).status_code == 403


def test_allow_list(serve: Any, client: httpx.Client) -> None:
    local, _ = build(dashboard_token=None, dashboard_allow=["127.0.0.0/8"])
    elsewhere, _ = build(dashboard_token=None, dashboard_allow=("10.0.0.0/8", "::1"))
    both, _ = build(dashboard_allow="127.0.0.1")
    assert client.get(serve(local).url + "/_loopsafe/api").status_code == 200
    assert client.get(serve(elsewhere).url + "/_loopsafe/api").status_code == 403
    both_url = serve(both).url + "/_loopsafe/api"
    assert client.get(both_url).status_code == 401  # allowed address, but no token
    assert client.get(both_url, headers=auth()).status_code == 200


def test_only_get_and_unknown_paths(serve: Any, client: httpx.Client) -> None:
    app, _ = build()
    server = serve(app)
    base = server.url + "/_loopsafe"
    assert client.post(base + "/api", headers=auth()).status_code == 405
    assert client.get(base + "/nope", headers=auth()).status_code == 404
    assert client.get(base + "/static/../app.py", headers=auth()).status_code == 404
    assert client.get(base + "/api/stalls/999999", headers=auth()).status_code == 404
    moved = client.get(base, headers=auth(), params={"token": TOKEN})
    assert moved.status_code == 308
    assert moved.headers["location"] == f"_loopsafe/?token={TOKEN}"


def test_dashboard_requests_are_not_counted(serve: Any, client: httpx.Client) -> None:
    app, monitor = build(dashboard_path="/ops/loop/")
    server = serve(app)
    assert client.get(server.url + "/clean").status_code == 200
    for endpoint in ("/ops/loop/", "/ops/loop/api", "/ops/loop/static/app.js"):
        assert client.get(server.url + endpoint, headers=auth()).status_code == 200
    assert client.get(server.url + "/_loopsafe/api", headers=auth()).status_code == 404
    assert list(monitor.snapshot()["routes"]) == ["GET /clean"]
    assert monitor.exempt_path("/ops/loop/api")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "dashboard=True needs a token or an allow-list"),
        ({"dashboard_token": ""}, "dashboard=True needs a token or an allow-list"),
        ({"dashboard_allow": ["not-an-address"]}, "dashboard_allow: 'not-an-address' is not"),
        ({"dashboard_token": "t", "dashboard_path": "no-slash"}, "dashboard_path must be"),
        ({"dashboard_token": "t", "dashboard_path": "/"}, "dashboard_path must be"),
    ],
)
def test_bad_options_are_one_line_config_errors(
    options: dict[str, Any], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LOOPSAFE_DASHBOARD_TOKEN", raising=False)
    with pytest.raises(ConfigError, match=message) as info:
        loopsafe.install(FastAPI(), dashboard=True, **options)
    assert "\n" not in str(info.value)


def scope(client: Any, headers: list[tuple[bytes, bytes]] | None = None) -> dict[str, Any]:
    return {"type": "http", "client": client, "headers": headers or [], "query_string": b""}


def test_allow_list_addresses_unit() -> None:
    access = Access(None, parse_allow(["10.1.0.0/16", "::1"]))
    assert access.check(scope(("10.1.2.3", 5000))) == 200
    assert access.check(scope(("::ffff:10.1.2.3", 5000))) == 200  # IPv4-mapped IPv6
    assert access.check(scope(("::1", 5000))) == 200
    assert access.check(scope(("10.2.0.1", 5000))) == 403
    assert access.check(scope(None)) == 403  # no client address: refused
    assert access.check(scope(("/run/app.sock", 0))) == 403  # a unix socket peer
    with_token = Access("t0k", parse_allow("10.1.0.0/16"))
    assert with_token.check(scope(("10.1.2.3", 1))) == 401
    assert with_token.check(scope(("10.1.2.3", 1), [(b"x-loopsafe-token", b"t0k")])) == 200
    assert with_token.check(scope(("10.9.9.9", 1), [(b"x-loopsafe-token", b"t0k")])) == 403


def test_malformed_credentials_are_refused_not_crashed() -> None:
    access = Access("t0k", ())
    for headers in (
        [(b"authorization", b"Basic dDBrOg==")],
        [(b"authorization", b"Bearer ")],
        [(b"cookie", b'loopsafe_dashboard="unterminated')],
        [(b"cookie", b"\xff\xfe")],
    ):
        assert access.check(scope(("127.0.0.1", 1), headers)) in (401, 403)
