"""Filler statements: correct code that pads every generated function body.

Some of it merely looks risky (async HTTP, ``asyncio.sleep``, ``aiofiles``, ``time.monotonic``);
those lines are recorded as decoys.
"""

from __future__ import annotations

from collections.abc import Callable

from .emit import Module, Scope
from .plan import Generator
from .spec import PACKAGE, Decoy
from .words import literal, plural


class Fillers:
    """Writes statements of one function body into a module, tracking local names."""

    def __init__(
        self, gen: Generator, mod: Module, scope: Scope, indent: int, noun: str, is_async: bool
    ) -> None:
        self.gen = gen
        self.mod = mod
        self.scope = scope
        self.indent = indent
        self.noun = noun
        self.is_async = is_async
        self.rng = gen.rng

    def line(self, text: str, extra: int = 0) -> int:
        return self.mod.emit(text, self.indent + extra)

    def decoy(self, kind: str, line: int) -> None:
        self.gen.decoys.append(Decoy(kind, self.mod.site(line)))

    # ---- fillers usable in sync and async code ----

    def f_log(self) -> None:
        self.mod.use_logger()
        v = self.scope.get(self.rng, "int") or self.scope.get(self.rng, "str")
        if v:
            self.line(f'logger.debug("{self.noun}: handling %s", {v})')
        else:
            self.line(f'logger.debug("{self.noun}: start")')

    def f_dict(self) -> None:
        name = self.scope.fresh(
            self.rng.choice(["record", "context", "meta", "envelope"]), "dict[str, Any]"
        )
        i = self.gen.arg(self.scope, "int")
        s = self.gen.arg(self.scope, "str")
        self.line(f'{name} = {{"kind": "{self.noun}", "id": {i}, "source": {s}, "tags": []}}')

    def f_listcomp(self) -> None:
        src = self.scope.get(self.rng, "list[int]")
        if src is None:
            src = self.scope.fresh("values", "list[int]")
            self.line(f"{src} = list(range({self.rng.randint(3, 12)}))")
        name = self.scope.fresh(self.rng.choice(["filtered", "weights", "selected"]), "list[int]")
        self.line(
            f"{name} = [value * {self.rng.randint(2, 5)} for value in {src} if value > {self.rng.randint(0, 3)}]"
        )

    def f_guard(self) -> None:
        v = self.scope.get(self.rng, "str") or self.scope.get(self.rng, "list[int]")
        if v is None:
            self.f_fstr()
            return
        self.line(f"if not {v}:")
        self.line(f'raise ValueError("{self.noun}: {v} must not be empty")', 1)

    def f_arith(self) -> None:
        src = self.scope.get(self.rng, "list[int]")
        if src is not None:
            name = self.scope.fresh(self.rng.choice(["average", "ratio", "mean_value"]), "float")
            self.line(f"{name} = sum({src}) / max(len({src}), 1)")
        else:
            i = self.gen.arg(self.scope, "int")
            name = self.scope.fresh(self.rng.choice(["offset", "bucket", "shard"]), "int")
            self.line(
                f"{name} = ({i} - 1) * {self.rng.randint(10, 50)} % {self.rng.randint(7, 64)}"
            )

    def f_fstr(self) -> None:
        i = self.gen.arg(self.scope, "int")
        name = self.scope.fresh(self.rng.choice(["label", "slug", "key_name"]), "str")
        self.line(f'{name} = f"{self.noun}-{{{i}:06d}}"')

    def f_json(self) -> None:
        self.mod.imports.plain("json")
        d = self.gen.arg(self.scope, "dict[str, Any]")
        name = self.scope.fresh("encoded", "str")
        self.line(f"{name} = json.dumps({d}, sort_keys=True, default=str)")

    def f_hash(self) -> None:
        self.mod.imports.plain("hashlib")
        s = self.gen.arg(self.scope, "str")
        name = self.scope.fresh("digest", "str")
        self.line(f"{name} = hashlib.sha256({s}.encode()).hexdigest()")

    def f_loop(self) -> None:
        src = self.scope.get(self.rng, "list[int]") or literal(self.rng, "list[int]")
        self.mod.use_logger()
        self.line(f"for position, value in enumerate({src}):")
        self.line("if value < 0:", 1)
        self.line(f'logger.warning("{self.noun}: negative value at %d", position)', 2)
        self.line("break", 2)

    def f_timer(self) -> None:
        self.mod.imports.plain("time")
        name = self.scope.fresh("started", "float")
        self.line(f"{name} = time.monotonic()")
        self.decoy("time_monotonic", len(self.mod.body))

    def f_try(self) -> None:
        s = self.gen.arg(self.scope, "str")
        name = self.scope.fresh("parsed", "int")
        self.line("try:")
        self.line(f"{name} = int({s})", 1)
        self.line("except ValueError:")
        self.line(f"{name} = 0", 1)

    def f_now(self) -> None:
        self.mod.imports.from_("datetime", "UTC")
        self.mod.imports.from_("datetime", "datetime")
        name = self.scope.fresh("now", "datetime")
        self.line(f"{name} = datetime.now(UTC)")

    def filler(self) -> None:
        options: list[Callable[[], None]] = [
            self.f_log, self.f_dict, self.f_listcomp, self.f_guard, self.f_arith, self.f_fstr,
            self.f_json, self.f_hash, self.f_loop, self.f_timer, self.f_try, self.f_now,
        ]  # fmt: skip
        if self.is_async:
            options += [
                self.a_http,
                self.a_httpx,
                self.a_cache,
                self.a_retry,
                self.a_aiofiles,
                self.a_sleep,
            ]
        self.rng.choice(options)()

    # ---- async-only fillers (all correct) ----

    def a_http(self) -> None:
        self.mod.imports.from_(f"{PACKAGE}.clients", "http_client")
        i = self.gen.arg(self.scope, "int")
        resp = self.scope.fresh("response", "Response")
        ln = self.line(f'{resp} = await http_client.get(f"/{plural(self.noun)}/{{{i}}}")')
        self.decoy("async_http", ln)
        self.line(f"{resp}.raise_for_status()")
        name = self.scope.fresh("remote", "dict[str, Any]")
        self.line(f"{name} = {resp}.json()")

    def a_httpx(self) -> None:
        # The shared client from clients.py: a client built per request is itself a mistake (LS402).
        self.mod.imports.from_(f"{PACKAGE}.clients", "http_client")
        self.mod.imports.from_(f"{PACKAGE}.core.config", "settings")
        d = self.gen.arg(self.scope, "dict[str, Any]")
        reply = self.scope.fresh("reply", "Response")
        ln = self.line(
            f'{reply} = await http_client.post(f"{{settings.api_base_url}}/{self.noun}/events", json={d})'
        )
        self.decoy("async_http", ln)
        self.line(f"{reply}.raise_for_status()")

    def a_cache(self) -> None:
        self.mod.imports.from_(f"{PACKAGE}.clients", "cache")
        self.mod.use_logger()
        i = self.gen.arg(self.scope, "int")
        key = self.scope.fresh("cache_key", "str")
        self.line(f'{key} = f"{self.noun}:{{{i}}}"')
        hit = self.scope.fresh("cached", "bytes")
        ln = self.line(f"{hit} = await cache.get({key})")
        self.decoy("async_cache", ln)
        self.line(f"if {hit} is not None:")
        self.line(f'logger.debug("cache hit for %s", {key})', 1)

    def a_retry(self) -> None:
        self.mod.imports.plain("asyncio")
        self.mod.imports.plain("httpx")
        self.mod.imports.from_(f"{PACKAGE}.clients", "http_client")
        probe = self.scope.fresh("probe", "Response")
        self.line("for attempt in range(3):")
        self.line("try:", 1)
        self.line(f'{probe} = await http_client.get("/{self.noun}/health")', 2)
        self.line(f"{probe}.raise_for_status()", 2)
        self.line("break", 2)
        self.line("except httpx.HTTPError:", 1)
        ln = self.line("await asyncio.sleep(0.2 * (attempt + 1))", 2)
        self.decoy("asyncio_sleep", ln)

    def a_aiofiles(self) -> None:
        self.mod.imports.plain("aiofiles")
        p = self.gen.arg(self.scope, "str", "path")
        handle = self.scope.fresh("handle", "AsyncFile")
        content = self.scope.fresh("content", "str")
        ln = self.line(f'async with aiofiles.open({p}, encoding="utf-8") as {handle}:')
        self.decoy("aiofiles", ln)
        self.line(f"{content} = await {handle}.read()", 1)

    def a_sleep(self) -> None:
        self.mod.imports.plain("asyncio")
        ln = self.line(f"await asyncio.sleep({self.rng.choice(['0.05', '0.1', '0.25'])})")
        self.decoy("asyncio_sleep", ln)
