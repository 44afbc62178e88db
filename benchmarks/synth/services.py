"""Per-domain ``services/`` modules: sync helpers, query helpers, async use-cases, a class."""

from __future__ import annotations

from .body import Body
from .emit import Module, Scope
from .functions import async_body, async_fn, sync_fn
from .plan import Generator
from .spec import PACKAGE, Domain, Fn
from .words import WORDS


def service_module(gen: Generator, d: Domain, sync_pool: list[Fn], async_pool: list[Fn]) -> Module:
    mod = Module(
        f"{PACKAGE}.services.{d.name}", f"Business logic for {d.plural.replace('_', ' ')}."
    )
    noun = d.name
    for fn in d.service_sync:
        sync_fn(gen, mod, fn, noun)
    for fn in d.service_db:
        mod.gap()
        mod.imports.from_("sqlalchemy.orm", "Session")
        mod.imports.from_("typing", "Any")
        mod.imports.from_(f"{PACKAGE}.repositories.{d.name}", f"{d.cls}Repository")
        mod.emit(f"def {fn.name}(db: Session, limit: int = 20) -> dict[str, Any]:")
        mod.emit('"""Synchronous query helper, for sync routes and workers."""', 1)
        repo_fn = fn.callees[0]
        args = {
            "get": "limit",
            "list": "limit=limit",
            "count": "",
            "search": f'"{gen.rng.choice(WORDS)}"',
            "exists": "limit",
        }[repo_fn.name]
        mod.emit(f"repo = {d.cls}Repository(db)", 1)
        ln = mod.emit(f"found = repo.{repo_fn.name}({args})", 1)
        fn.leaf_site = mod.site(ln)
        mod.emit(f'return {{"kind": "{noun}", "found": found, "limit": limit}}', 1)
    own_async: list[Fn] = []
    for fn in d.service_async:
        session = gen.rng.random() < 0.55
        pool = [f for f in sync_pool if f.role != "db"] + d.service_sync
        async_fn(
            gen,
            mod,
            fn,
            noun,
            pool,
            async_pool + own_async,
            session=session,
            repo_cls=f"{d.cls}Repository" if session else None,
        )
        if session:
            fn.params = [("session", "AsyncSession", None), *fn.params]
        own_async.append(fn)
    if d.service_class:
        service_class(gen, mod, d, sync_pool)
    return mod


def service_class(gen: Generator, mod: Module, d: Domain, sync_pool: list[Fn]) -> None:
    cls, noun = d.cls, d.name
    mod.imports.from_("sqlalchemy.ext.asyncio", "AsyncSession")
    mod.imports.from_(f"{PACKAGE}.repositories.{d.name}", f"Async{cls}Repository")
    mod.imports.from_(f"{PACKAGE}.models.{d.name}", cls)
    mod.imports.from_(f"{PACKAGE}.core.config", "settings")
    mod.imports.from_("typing", "Any")
    mod.imports.plain("json")
    mod.imports.plain("asyncio")
    mod.gap()
    mod.emit(f"class {cls}Service:")
    mod.emit(
        f'"""Use-cases for {d.plural.replace("_", " ")}, bound to one request\'s session."""', 1
    )
    mod.emit()
    mod.emit("def __init__(self, session: AsyncSession) -> None:", 1)
    mod.emit("self.session = session", 2)
    mod.emit(f"self.repo = Async{cls}Repository(session)", 2)
    mod.emit()
    mod.emit(f"async def get_or_404(self, item_id: int) -> {cls}:", 1)
    mod.emit("obj = await self.repo.get(item_id)", 2)
    mod.emit("if obj is None:", 2)
    mod.emit(f'raise LookupError(f"{noun} {{item_id}} not found")', 3)
    mod.emit("return obj", 2)
    mod.emit()
    mod.emit(f"async def rename(self, item_id: int, name: str) -> {cls}:", 1)
    mod.emit("obj = await self.get_or_404(item_id)", 2)
    mod.emit("obj.name = name.strip()", 2)
    mod.emit("await self.session.commit()", 2)
    mod.emit("await self.session.refresh(obj)", 2)
    mod.emit("return obj", 2)
    mod.emit()
    mod.emit("def _read_overrides(self) -> dict[str, Any]:", 1)
    mod.emit(
        f'with open(f"{{settings.data_dir}}/{noun}/overrides.json", encoding="utf-8") as fh:', 2
    )
    leaf = mod.site(len(mod.body))
    mod.emit("return dict(json.load(fh))", 3)
    mod.emit()
    overrides = next(m for m in d.service_class if m.name == "overrides")
    mod.emit("async def overrides(self) -> dict[str, Any]:", 1)
    scope = Scope([])
    body = Body(gen, mod, scope, 2, noun, True)
    before = len(gen.planted)
    if overrides.mistake is None:
        body.filler()
        ln = body.line("overrides = await asyncio.to_thread(self._read_overrides)")
        body.decoy("offload", ln)
    else:
        async_body(
            gen, mod, overrides, body, [], [], session=None, db=None, repo_cls=None, lo=1, hi=2
        )
        for p in gen.planted[before:]:
            p.path_sites = [leaf]
    mod.emit('overrides.setdefault("version", 1)', 2)
    mod.emit("return overrides", 2)
    mod.gap()
    mod.imports.from_(f"{PACKAGE}.deps", "AsyncDbSession")
    mod.emit(f"def get_{noun}_service(session: AsyncDbSession) -> {cls}Service:")
    mod.emit(f"return {cls}Service(session)", 1)
