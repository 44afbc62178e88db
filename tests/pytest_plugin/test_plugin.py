"""The pytest plugin, run on sample test files with pytester."""

from __future__ import annotations

import pytest

BLOCKING = """
import asyncio
import time

import pytest


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.mark.anyio
async def test_blocks():
    time.sleep(0.2)


@pytest.mark.anyio
async def test_clean():
    await asyncio.sleep(0.2)


def test_sync_code_may_sleep():
    time.sleep(0.1)
"""


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest(
        *args, "-p", "no:cacheprovider", "-o", "asyncio_default_fixture_loop_scope=function"
    )


def test_inert_unless_enabled(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_sample=BLOCKING)
    result = run(pytester)
    result.assert_outcomes(passed=3)
    assert "loopsafe:" not in result.stdout.str()


def test_blocking_test_fails_with_its_line(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_sample=BLOCKING)
    result = run(pytester, "--loopsafe")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "loopsafe: threshold=50ms",
            "*test_blocks*",
            "*the event loop was blocked * ms*",
            "*test_sample.py:14 in test_blocks",
            "*time.sleep(0.2)",
        ]
    )


def test_marker_enables_and_sets_the_threshold(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_marked="""
        import time
        import pytest

        @pytest.fixture
        def anyio_backend():
            return "asyncio"

        @pytest.mark.anyio
        @pytest.mark.loopsafe
        async def test_caught():
            time.sleep(0.1)

        @pytest.mark.anyio
        @pytest.mark.loopsafe(threshold_ms=500)
        async def test_under_its_threshold():
            time.sleep(0.1)

        @pytest.mark.anyio
        async def test_not_enabled():
            time.sleep(0.1)
        """
    )
    result = run(pytester)
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*test_caught*", "*time.sleep(0.1)"])


def test_marker_can_disable_and_ini_enables(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nloopsafe = true\nloopsafe_threshold_ms = 30\n")
    pytester.makepyfile(
        test_ini="""
        import time
        import pytest

        @pytest.fixture
        def anyio_backend():
            return "asyncio"

        @pytest.mark.anyio
        async def test_caught():
            time.sleep(0.08)

        @pytest.mark.anyio
        @pytest.mark.loopsafe(enabled=False)
        async def test_opted_out():
            time.sleep(0.08)
        """
    )
    result = run(pytester)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["loopsafe: threshold=30ms", "*test_caught*"])


def test_pytest_asyncio(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(
        test_aio="""
        import time
        import pytest

        @pytest.mark.asyncio
        async def test_blocks():
            time.sleep(0.2)
        """
    )
    result = run(pytester, "--loopsafe")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*test_aio.py:6 in test_blocks"])


def test_bad_threshold_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_x="def test_x(): pass")
    result = run(pytester, "--loopsafe-threshold-ms", "-5")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*loopsafe: threshold must be positive, got -5.0 (--loopsafe-threshold-ms)*"]
    )


def test_asgi_transport_app(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_app="""
        import time
        import httpx
        import pytest
        from fastapi import FastAPI

        app = FastAPI()

        @app.get("/slow")
        async def slow():
            time.sleep(0.1)
            return {}

        @pytest.fixture
        def anyio_backend():
            return "asyncio"

        @pytest.mark.anyio
        async def test_route():
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                assert (await client.get("/slow")).status_code == 200
        """
    )
    result = run(pytester, "--loopsafe")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*test_app.py:10 in slow", "*time.sleep(0.1)"])
