"""Sync and async helper functions (services, utils) and the ``utils/`` modules."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from .body import Body, fill
from .emit import Module, Scope
from .plan import Generator
from .plant import plant_mistake
from .spec import Fn, UtilModule
from .words import SIMPLE_TYPES


def sync_fn(gen: Generator, mod: Module, fn: Fn, noun: str) -> None:
    mod.gap()
    params = gen.render_params(mod, fn.params)
    if gen.uses_any(fn.returns):
        mod.imports.from_("typing", "Any")
    for ln in gen.signature(f"def {fn.name}", params, fn.returns):
        mod.emit(ln)
    mod.emit(f'"""{docline(fn, noun)}"""', 1)
    scope = Scope(fn.params)
    body = Body(gen, mod, scope, 1, noun, False)
    steps: list[Callable[[], object]] = fill(gen, body, [], 2, 5)
    for callee in fn.callees:
        steps.insert(gen.rng.randrange(len(steps) + 1), _sync_call_step(body, fn, callee))
    if fn.leaf_kind is not None and fn.role == "leaf":
        steps.insert(gen.rng.randrange(1, len(steps) + 1), _leaf_step(body, fn))
    for step in steps:
        step()
    if fn.returns != "None":
        mod.emit(f"return {gen.return_expr(scope, fn.returns, noun)}", 1)


def _sync_call_step(body: Body, fn: Fn, callee: Fn) -> Callable[[], object]:
    def step() -> None:
        ln = body.call_sync(callee)
        if callee.blocks and fn.leaf_site is None:
            fn.leaf_site = body.mod.site(ln)
        elif not callee.blocks:
            body.decoy("sync_call_in_sync", ln)

    return step


def _leaf_step(body: Body, fn: Fn) -> Callable[[], object]:
    def step() -> None:
        assert fn.leaf_kind is not None
        if fn.leaf_kind == "sleep":
            body.mod.use_logger()
        fn.leaf_site = body.mod.site(body.blocking(fn.leaf_kind))

    return step


def docline(fn: Fn, noun: str) -> str:
    words = fn.name.replace("_", " ")
    return f"{words[0].upper()}{words[1:]} for the {noun.replace('_', ' ')} domain."


def async_body(
    gen: Generator,
    mod: Module,
    fn: Fn,
    body: Body,
    sync_pool: list[Fn],
    async_pool: list[Fn],
    *,
    session: str | None,
    db: str | None,
    repo_cls: str | None,
    upload: str | None = None,
    lo: int = 3,
    hi: int = 6,
) -> None:
    rng = gen.rng
    steps: list[Callable[[], object]] = fill(gen, body, [], lo, hi)
    calm = [f for f in sync_pool if not f.blocks]
    hot = [f for f in sync_pool if f.blocks and f.role != "db"]
    for callee in rng.sample(calm, k=min(len(calm), rng.randint(0, 2))):
        steps.append(partial(body.call_sync, callee, "sync_call_in_async"))
    async_pool = [
        f
        for f in async_pool
        if all(t in SIMPLE_TYPES or t in body.scope.by_type for _, t, _ in f.params)
    ]
    if async_pool:
        for callee in rng.sample(async_pool, k=min(len(async_pool), rng.randint(0, 2))):
            steps.append(partial(body.await_async, callee))
    if hot and rng.random() < 0.35:
        victim = rng.choice(hot)
        steps.append(lambda: body.offload(victim))
    if session is not None and repo_cls is not None and rng.random() < 0.7:
        steps.append(lambda: _async_repo_step(gen, mod, body, session, repo_cls))
    rng.shuffle(steps)
    if fn.mistake is not None:
        steps.insert(
            rng.randrange(len(steps) + 1), lambda: plant_mistake(gen, mod, fn, body, db, upload)
        )
    for step in steps:
        step()


def _async_repo_step(gen: Generator, mod: Module, body: Body, session: str, repo_cls: str) -> None:
    mod.imports.from_(
        mod.dotted.replace(".services.", ".repositories.").replace(".routers.", ".repositories."),
        f"Async{repo_cls}",
    )
    repo = body.scope.fresh("repo", "Repo")
    body.line(f"{repo} = Async{repo_cls}({session})")
    i = gen.arg(body.scope, "int")
    found = body.scope.fresh("found", "Model")
    ln = body.line(f"{found} = await {repo}.{gen.rng.choice(['get', 'exists'])}({i})")
    body.decoy("async_db", ln)


def utils_module(gen: Generator, um: UtilModule, earlier_async: list[Fn]) -> Module:
    mod = Module(
        um.dotted, f"{um.theme.replace('_', ' ').capitalize()} helpers shared across services."
    )
    noun = um.theme
    for fn in um.sync:
        sync_fn(gen, mod, fn, noun)
    for fn in um.async_fns:
        async_fn(gen, mod, fn, noun, [f for f in um.sync], earlier_async)
    return mod


def async_fn(
    gen: Generator,
    mod: Module,
    fn: Fn,
    noun: str,
    sync_pool: list[Fn],
    async_pool: list[Fn],
    session: bool = False,
    repo_cls: str | None = None,
) -> None:
    mod.gap()
    params = list(fn.params)
    if session:
        params = [("session", "AsyncSession", None), *params]
        mod.imports.from_("sqlalchemy.ext.asyncio", "AsyncSession")
    rendered = gen.render_params(mod, params)
    if gen.uses_any(fn.returns):
        mod.imports.from_("typing", "Any")
    for ln in gen.signature(f"async def {fn.name}", rendered, fn.returns):
        mod.emit(ln)
    mod.emit(f'"""{docline(fn, noun)}"""', 1)
    scope = Scope(params)
    body = Body(gen, mod, scope, 1, noun, True)
    async_body(
        gen,
        mod,
        fn,
        body,
        sync_pool,
        async_pool,
        session="session" if session else None,
        db=None,
        repo_cls=repo_cls,
    )
    mod.emit(f"return {gen.return_expr(scope, fn.returns, noun)}", 1)
