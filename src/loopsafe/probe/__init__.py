"""``loopsafe probe``: start the app on loopback, load every route, and measure which serialize.

Needs the ``probe`` extra (uvicorn, httpx, rich). ``run_probe`` is the one entry point the CLI and
``loopsafe doctor`` share.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from loopsafe.probe.measure import Prober, ProbeResult, RouteResult
from loopsafe.probe.plan import PlannedRequest, Samples, load_samples, plan
from loopsafe.probe.target import ProbeError, RemoteServer, SpawnedServer

__all__ = [
    "ProbeError",
    "ProbeOptions",
    "ProbeResult",
    "RouteResult",
    "run_probe",
]


@dataclass(frozen=True)
class ProbeOptions:
    """Everything ``loopsafe probe`` takes on its command line."""

    app: str | None = None
    url: str | None = None
    app_dir: str = "."
    port: int = 0
    n: int = 16
    timeout: float = 10.0
    start_timeout: float = 30.0
    max_time: float = 300.0
    max_factor: float = 1.5
    threshold_ms: float = 20.0
    unsafe: bool = False
    samples: str | None = None
    routes: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    token: str | None = None


def run_probe(
    options: ProbeOptions,
    *,
    on_plan: Callable[[list[PlannedRequest]], None] | None = None,
    progress: Callable[[str], None] | None = None,
) -> ProbeResult:
    """Start (or reach) the server, probe every route it can call, stop the server."""
    samples: Samples = load_samples(options.samples, options.app_dir)
    target: SpawnedServer | RemoteServer
    if options.url is not None:
        target = RemoteServer(options.url, token=options.token)
    else:
        assert options.app is not None  # the CLI requires one of the two
        target = SpawnedServer(
            options.app,
            app_dir=options.app_dir,
            port=options.port,
            threshold_ms=options.threshold_ms,
            start_timeout=options.start_timeout,
        )
    try:
        target.start()
        planned = plan(
            target.routes,
            samples,
            unsafe=options.unsafe,
            only=options.routes,
            exclude=options.exclude,
        )
        if on_plan is not None:
            on_plan(planned)
        prober = Prober(
            target,
            n=options.n,
            timeout=options.timeout,
            max_factor=options.max_factor,
            max_time=options.max_time,
            progress=progress,
        )
        result = asyncio.run(prober.run(planned))
        result.target = options.app or options.url or result.target
        if target.routes.get("openapi_error"):
            result.notes.append(f"the OpenAPI document failed: {target.routes['openapi_error']}")
        return result
    finally:
        target.close()
