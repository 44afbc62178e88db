"""What the generator plans: functions, domains, planted mistakes and decoys.

Also the kinds of planted mistake, with their weights, where each may be planted, and the
description the report prints for each.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PACKAGE = "app"  # the generated top-level package

# Planted mistakes: kind -> weight. "slot" restricts where a kind can be planted.
MISTAKE_WEIGHTS: dict[str, int] = {
    "sleep": 10,
    "requests": 9,
    "httpx_sync": 2,
    "urlopen": 2,
    "session_http": 5,
    "open": 10,
    "subprocess": 4,
    "upload_file": 3,
    "sync_db_param": 10,
    "sync_db_repo": 9,
    "sync_db_sessionlocal": 5,
    "method_chain": 3,
    "chain": 28,
}
ROUTE_ONLY = frozenset({"upload_file", "sync_db_param", "sync_db_repo"})
CLASS_ONLY = frozenset({"method_chain"})
LEAF_KINDS = ["sleep", "requests", "session_http", "open", "open_write", "subprocess", "db"]

# How the report describes each kind.
MISTAKE_DESCRIPTIONS = {
    "sleep": "`time.sleep()` in `async def`",
    "requests": "`requests.get/post()` in `async def`",
    "httpx_sync": "`httpx.get()` (sync) in `async def`",
    "urlopen": "`urllib.request.urlopen()` in `async def`",
    "session_http": "`requests.Session` singleton from `clients.py`",
    "open": "`open()` in `async def`",
    "subprocess": "`subprocess.run()` in `async def`",
    "upload_file": "`UploadFile.file.read()` in `async def`",
    "sync_db_param": "sync `Session` dependency used in `async def` route",
    "sync_db_repo": "sync repository / query helper in `async def` route",
    "sync_db_sessionlocal": "`with SessionLocal() as db: db.execute()` in `async def`",
    "method_chain": "`self._sync_method()` that opens a file",
    "chain": "sync helper chain (1-5 calls deep, across modules)",
}


@dataclass
class Site:
    """A line in a generated file (line numbers are fixed up once the module header is known)."""

    path: str
    line: int


@dataclass(eq=False)
class Fn:
    module: str
    name: str
    is_async: bool
    params: list[tuple[str, str, str | None]]
    returns: str
    role: str  # pure | mid | leaf | db | repo | async | route | method
    leaf_kind: str | None = None
    callees: list[Fn] = field(default_factory=list)
    blocks: bool = False
    depth: int = 0
    owner: str | None = None  # class name for methods
    leaf_site: Site | None = None  # the direct blocking call (leaf) or the blocking call-out (mid)
    order: tuple[int, int] = (0, 0)  # (layer, index): a function may only call earlier layers
    mistake: str | None = None  # planted kind, async functions only
    target: Fn | None = None  # blocking callee for chain-like planted mistakes
    domain: Domain | None = None


@dataclass(eq=False)
class Domain:
    index: int
    name: str
    plural: str
    cls: str
    fields: list[tuple[str, str, str, tuple[str, ...]]]
    repo: list[Fn] = field(default_factory=list)
    service_sync: list[Fn] = field(default_factory=list)
    service_db: list[Fn] = field(default_factory=list)
    service_async: list[Fn] = field(default_factory=list)
    service_class: list[Fn] = field(default_factory=list)
    routes: list[Fn] = field(default_factory=list)


@dataclass(eq=False)
class UtilModule:
    index: int
    theme: str
    dotted: str
    sync: list[Fn] = field(default_factory=list)
    async_fns: list[Fn] = field(default_factory=list)


@dataclass
class Planted:
    kind: str
    function: str
    site: Site
    depth: int
    path_sites: list[Site] = field(default_factory=list)  # call-outs along the chain, then leaf
    extra: list[Site] = field(default_factory=list)  # other lines the mistake's statements span

    def to_json(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "function": self.function,
            "path": self.site.path,
            "line": self.site.line,
            "depth": self.depth,
            "chain": [[s.path, s.line] for s in self.path_sites],
            "extra": [s.line for s in self.extra],
        }


@dataclass
class Decoy:
    kind: str
    site: Site
