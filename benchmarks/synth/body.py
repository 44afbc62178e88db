"""Calls, offloaded calls and blocking statements inside a generated function body."""

from __future__ import annotations

from collections.abc import Callable

from .fillers import Fillers
from .plan import Generator
from .spec import PACKAGE, Fn
from .words import OBJS, plural


class Body(Fillers):
    """A function body: fillers plus calls to other generated functions and blocking I/O."""

    def var_for(self, fn: Fn) -> str:
        base = fn.name.rsplit("_", 1)[-1] if fn.role != "repo" else "found"
        if base in ("view", "usage", "stats", "changes", "quota"):
            base = "result"
        return base

    def call_sync(self, fn: Fn, decoy: str | None = None) -> int:
        ref = self.mod.ref(fn, self.rng)
        expr = f"{ref}({', '.join(self.gen.call_args(self.scope, fn))})"
        if fn.returns == "None":
            ln = self.line(expr)
        else:
            name = self.scope.fresh(self.var_for(fn), fn.returns)
            ln = self.line(f"{name} = {expr}")
        if decoy is not None:
            self.decoy(decoy, ln)
        return ln

    def await_async(self, fn: Fn) -> int:
        ref = self.mod.ref(fn, self.rng)
        args = ", ".join(self.gen.call_args(self.scope, fn))
        name = self.scope.fresh(self.var_for(fn), fn.returns)
        return self.line(f"{name} = await {ref}({args})")

    def offload(self, fn: Fn) -> int:
        ref = self.mod.ref(fn, self.rng)
        args = self.gen.call_args(self.scope, fn, positional_only=True)
        name = self.scope.fresh(self.var_for(fn), fn.returns)
        how = self.rng.choices(
            ["to_thread", "threadpool", "executor", "anyio", "nested"], [45, 25, 12, 8, 10]
        )[0]
        if how == "to_thread":
            self.mod.imports.plain("asyncio")
            ln = self.line(f"{name} = await asyncio.to_thread({', '.join([ref, *args])})")
        elif how == "threadpool":
            self.mod.imports.from_("starlette.concurrency", "run_in_threadpool")
            ln = self.line(f"{name} = await run_in_threadpool({', '.join([ref, *args])})")
        elif how == "executor":
            self.mod.imports.plain("asyncio")
            loop = self.scope.fresh("loop", "Loop")
            self.line(f"{loop} = asyncio.get_running_loop()")
            ln = self.line(
                f"{name} = await {loop}.run_in_executor(None, {', '.join([ref, *args])})"
            )
        elif how == "anyio":
            self.mod.imports.plain("anyio.to_thread")
            ln = self.line(f"{name} = await anyio.to_thread.run_sync({', '.join([ref, *args])})")
        else:
            self.mod.imports.plain("asyncio")
            inner = "_work" if "_work" not in self.scope.used else f"_work_{len(self.scope.used)}"
            self.scope.used.add(inner)
            ret = fn.returns if fn.returns != "None" else "None"
            if self.gen.uses_any(ret):
                self.mod.imports.from_("typing", "Any")
            self.line(f"def {inner}() -> {ret}:")
            call = self.mod.ref(fn, self.rng) + f"({', '.join(args)})"
            ln = self.line(f"return {call}" if ret != "None" else call, 1)
            self.decoy("offload_nested", ln)
            self.line("")
            ln = self.line(f"{name} = await asyncio.to_thread({inner})")
        self.decoy("offload", ln)
        return ln

    # ---- blocking statements: return the line of the blocking call ----

    def blocking(self, kind: str) -> int:
        rng = self.rng
        if kind == "sleep":
            self.mod.imports.plain("time")
            if rng.random() < 0.4:
                self.line(f"for attempt in range({rng.randint(2, 5)}):")
                self.line(
                    f'logger.info("{self.noun}: waiting for upstream, attempt %d", attempt)', 1
                )
                self.mod.use_logger()
                return self.line(f"time.sleep({rng.choice(['0.5', '1', '2'])} * (attempt + 1))", 1)
            return self.line(f"time.sleep({rng.choice(['0.2', '0.5', '1', '3'])})")
        if kind in ("requests", "httpx_sync", "urlopen", "session_http"):
            url = "url"
            if "url" not in self.scope.used:
                self.mod.imports.from_(f"{PACKAGE}.core.config", "settings")
                url = self.scope.fresh("endpoint", "str")
                self.line(
                    f'{url} = f"{{settings.api_base_url}}/{plural(self.noun)}/{rng.choice(OBJS)}"'
                )
            resp = self.scope.fresh("resp", "Response")
            if kind == "urlopen":
                self.mod.imports.plain("urllib.request")
                body = self.scope.fresh("raw", "bytes")
                ln = self.line(f"with urllib.request.urlopen({url}, timeout=10) as {resp}:")
                self.line(f"{body} = {resp}.read()", 1)
                return ln
            if kind == "requests":
                self.mod.imports.plain("requests")
                if rng.random() < 0.6:
                    ln = self.line(f"{resp} = requests.get({url}, timeout=10)")
                else:
                    d = self.gen.arg(self.scope, "dict[str, Any]")
                    ln = self.line(f"{resp} = requests.post({url}, json={d}, timeout=10)")
            elif kind == "httpx_sync":
                self.mod.imports.plain("httpx")
                ln = self.line(f"{resp} = httpx.get({url}, timeout=10.0)")
            else:
                self.mod.imports.from_(f"{PACKAGE}.clients", "legacy_http")
                ln = self.line(
                    f"{resp} = legacy_http.{rng.choice(['get', 'get', 'post'])}({url}, timeout=10)"
                )
            self.line(f"{resp}.raise_for_status()")
            data = self.scope.fresh("data", "dict[str, Any]")
            self.line(f"{data} = {resp}.json()")
            return ln
        if kind in ("open", "open_write"):
            p = "path"
            if "path" not in self.scope.used:
                self.mod.imports.from_(f"{PACKAGE}.core.config", "settings")
                p = self.scope.fresh("target", "str")
                self.line(f'{p} = f"{{settings.data_dir}}/{self.noun}/{rng.choice(OBJS)}.json"')
            fh = self.scope.fresh("fh", "IO")
            if kind == "open_write" or rng.random() < 0.25:
                self.mod.imports.plain("json")
                d = self.gen.arg(self.scope, "dict[str, Any]")
                ln = self.line(f'with open({p}, "w", encoding="utf-8") as {fh}:')
                self.line(f"json.dump({d}, {fh})", 1)
                return ln
            content = self.scope.fresh("content", "str")
            ln = self.line(f'with open({p}, encoding="utf-8") as {fh}:')
            self.line(f"{content} = {fh}.read()", 1)
            return ln
        if kind == "subprocess":
            self.mod.imports.plain("subprocess")
            cmd = rng.choice(
                [
                    '["pg_dump", "--schema-only", "app"]',
                    '["gzip", "-9", "/tmp/export.csv"]',
                    '["convert", "in.png", "out.webp"]',
                    '["git", "rev-parse", "HEAD"]',
                ]
            )
            done = self.scope.fresh("completed", "CompletedProcess")
            return self.line(f"{done} = subprocess.run({cmd}, check=True, capture_output=True)")
        if kind == "db":
            self.mod.imports.from_(f"{PACKAGE}.clients", "SessionLocal")
            self.mod.imports.from_("sqlalchemy", "text")
            sess = self.scope.fresh("db_session", "Session")
            total = self.scope.fresh("total", "int")
            self.line(f"with SessionLocal() as {sess}:")
            return self.line(
                f'{total} = {sess}.execute(text("SELECT count(*) FROM {plural(self.noun)}")).scalar_one()',
                1,
            )
        raise ValueError(kind)


def fill(
    gen: Generator, body: Body, steps: list[Callable[[], object]], lo: int, hi: int
) -> list[Callable[[], object]]:
    for _ in range(gen.rng.randint(lo, hi)):
        steps.append(body.filler)
    return steps
