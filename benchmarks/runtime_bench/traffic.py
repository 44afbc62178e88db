"""The stall scenarios, the requests that induce them, and the clean traffic running alongside."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from types import TracebackType

import httpx

from runtime_bench.fixtures import BIG_FILE_MB, SLOW_REPLY_S
from runtime_bench.stall_app import BLOCK_S, GC_HEAP_OBJECTS

CLEAN_ROUTES = ("GET /clean", "GET /json")


@dataclass(frozen=True, slots=True)
class Scenario:
    key: str
    path: str
    route: str  # the route template the stall belongs to
    tag: str | None  # its `# culprit: <tag>` lines; None: nothing blocks
    function: str  # the route's function name
    description: str
    culprit: str | None = None  # the culprit path expected instead of a marked line


SLEEPS_MS = (60, 100, 250)


def sleep_scenario(ms: int) -> Scenario:
    return Scenario(f"sleep-{ms}", f"/sleep/{ms}", "GET /sleep/{ms}", "sleep", "sleep_route",
                    f"`time.sleep({ms / 1000:g})` in the route")  # fmt: skip


OTHER_SCENARIOS = (
    Scenario("cpu", "/cpu", "GET /cpu", "cpu", "cpu_route", "a pure-Python CPU loop for 150 ms"),
    Scenario("socket", "/socket", "GET /socket", "socket", "socket_route",
             f"blocking `socket.recv()` from a 127.0.0.1 server that answers after "
             f"{SLOW_REPLY_S * 1000:.0f} ms"),
    Scenario("file", "/file", "GET /file", "file", "file_route",
             f"`open(path, 'rb').read()` of a {BIG_FILE_MB} MiB file (in the page cache)"),
    Scenario("helper", "/helper", "GET /helper", "helper", "helper_route",
             f"a sync helper in another module sleeping {BLOCK_S * 1000:.0f} ms"),
    Scenario("dependency", "/dependency", "GET /dependency", "dependency", "dependency_route",
             f"an `async def` dependency sleeping {BLOCK_S * 1000:.0f} ms"),
    Scenario("middleware", "/middleware", "GET /middleware", "middleware", "middleware_route",
             f"a `BaseHTTPMiddleware.dispatch` sleeping {BLOCK_S * 1000:.0f} ms"),
    Scenario("gc", "/gc", "GET /gc", "gc", "gc_route",
             f"a full garbage collection (`gc.collect()`) over {GC_HEAP_OBJECTS:,} live objects; "
             "attributed when the culprit is the collector (`<gc>`)", culprit="<gc>"),
    Scenario("clean", "/clean", "GET /clean", None, "clean_route",
             "`await asyncio.sleep(0.1)`: nothing blocks"),
)  # fmt: skip


def scenarios(sleeps_ms: tuple[int, ...] = SLEEPS_MS) -> list[Scenario]:
    return [*map(sleep_scenario, sleeps_ms), *OTHER_SCENARIOS]


@dataclass(slots=True)
class Induced:
    scenario: str
    index: int
    request_id: str
    t0: float  # wall clock just before the request was sent
    t1: float  # wall clock once the response was read
    status: int
    blocked_s: float | None  # how long the server measured the blocking call


def _blocked(response: httpx.Response) -> float | None:
    header = response.headers.get("x-blocked-s")
    if header is not None:
        return float(header)
    try:
        value = response.json().get("blocked_s")
    except ValueError:
        return None
    return float(value) if isinstance(value, int | float) else None


def drive(
    base_url: str, scenarios: list[Scenario], reps: int, gap: float, tag: str
) -> list[Induced]:
    """Each scenario ``reps`` times, round-robin, one request at a time, ``gap`` s apart."""
    done: list[Induced] = []
    with httpx.Client(base_url=base_url, timeout=10) as client:
        for index in range(reps):
            for sc in scenarios:
                rid = f"{tag}-{sc.key}-{index}"
                t0 = time.time()
                response = client.get(sc.path, headers={"x-request-id": rid})
                t1 = time.time()
                blocked = _blocked(response) if response.status_code == 200 else None
                done.append(Induced(sc.key, index, rid, t0, t1, response.status_code, blocked))
                time.sleep(gap)
    return done


class Background:
    """Clean requests (``/json`` and ``/clean``) from a few threads while the scenarios run."""

    def __init__(self, base_url: str, threads: int = 3, pause: float = 0.02) -> None:
        self.base_url = base_url
        self.pause = pause
        self.requests = 0
        self.errors = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._run, args=(i,), name=f"bench-bg-{i}", daemon=True)
            for i in range(threads)
        ]

    def _run(self, number: int) -> None:
        paths = ("/json", "/clean")
        n = 0
        with httpx.Client(base_url=self.base_url, timeout=10) as client:
            while not self._stop.is_set():
                headers = {"x-request-id": f"bg-{number}-{n}"}
                try:
                    ok = client.get(paths[n % 2], headers=headers).status_code == 200
                except httpx.HTTPError:
                    ok = False
                with self._lock:
                    self.requests += 1
                    self.errors += not ok
                n += 1
                self._stop.wait(self.pause)

    def __enter__(self) -> Background:
        for t in self._threads:
            t.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=15)
