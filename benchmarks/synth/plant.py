"""Planting a blocking mistake into an async function body, and recording where it is."""

from __future__ import annotations

from .body import Body
from .emit import Module
from .plan import Generator
from .spec import PACKAGE, Fn, Planted, Site


def plant_mistake(
    gen: Generator, mod: Module, fn: Fn, body: Body, db: str | None, upload: str | None
) -> None:
    kind = fn.mistake
    assert kind is not None
    qual = f"{fn.module}.{fn.owner + '.' if fn.owner and fn.role == 'method' else ''}{fn.name}"
    chain: list[Site] = []
    depth = 0
    first = len(mod.body) + 1
    if kind in (
        "sleep",
        "requests",
        "httpx_sync",
        "urlopen",
        "session_http",
        "open",
        "subprocess",
    ):
        if kind == "sleep":
            mod.use_logger()
        ln = body.blocking(kind)
    elif kind == "sync_db_sessionlocal":
        d = fn.domain
        noun = d.name if d else body.noun
        cls = d.cls if d else None
        mod.imports.from_(f"{PACKAGE}.clients", "SessionLocal")
        mod.imports.from_("sqlalchemy", "select")
        sess = body.scope.fresh("db", "Session")
        body.line(f"with SessionLocal() as {sess}:")
        if cls is not None:
            mod.imports.from_(f"{PACKAGE}.models.{noun}", cls)
            rows = body.scope.fresh("rows", "list")
            ln = body.line(f"{rows} = {sess}.execute(select({cls}).limit(50)).scalars().all()", 1)
        else:
            mod.imports.from_("sqlalchemy", "text")
            ln = body.line(f'{sess}.execute(text("VACUUM ANALYZE"))', 1)
    elif kind == "sync_db_param":
        d = fn.domain
        assert d is not None and db is not None
        mod.imports.from_(f"{PACKAGE}.models.{d.name}", d.cls)
        i = gen.arg(body.scope, "int")
        rows = body.scope.fresh("rows", "list")
        variant = gen.rng.random()
        if variant < 0.8:
            mod.imports.from_("sqlalchemy", "select")
        if variant < 0.6:
            ln = body.line(
                f"{rows} = {db}.execute(select({d.cls}).where({d.cls}.id == {i})).scalars().all()"
            )
        elif variant < 0.8:
            ln = body.line(
                f"{rows} = {db}.scalars(select({d.cls}).order_by({d.cls}.id.desc()).limit(20)).all()"
            )
        else:
            obj = body.scope.fresh("obj", "Model")
            ln = body.line(f"{obj} = {db}.get({d.cls}, {i})")
    elif kind == "sync_db_repo":
        target = fn.target
        assert target is not None and db is not None and fn.domain is not None
        d = fn.domain
        if target.role == "repo":
            mod.imports.from_(f"{PACKAGE}.repositories.{d.name}", f"{d.cls}Repository")
            args = gen.call_args(body.scope, target)
            repo = body.scope.fresh("sync_repo", "Repo")
            body.line(f"{repo} = {d.cls}Repository({db})")
            found = body.scope.fresh("found", "Model")
            ln = body.line(f"{found} = {repo}.{target.name}({', '.join(args)})")
            depth = 1
        else:
            ref = mod.ref(target, gen.rng)
            found = body.scope.fresh("loaded", "dict[str, Any]")
            ln = body.line(f"{found} = {ref}({db})")
            depth = 2
            assert target.leaf_site is not None
            chain.append(target.leaf_site)
            target = target.callees[0]
        assert target.leaf_site is not None
        chain.append(target.leaf_site)
    elif kind == "upload_file":
        assert upload is not None
        data = body.scope.fresh("contents", "bytes")
        ln = body.line(f"{data} = {upload}.file.read()")
    elif kind == "method_chain":
        result = body.scope.fresh("overrides", "dict[str, Any]")
        ln = body.line(f"{result} = self._read_overrides()")
        depth = 1
        chain.append(Site(mod.path, -1))  # filled by the class renderer
    elif kind == "chain":
        target = fn.target
        assert target is not None
        ln = body.call_sync(target)
        depth = target.depth
        node: Fn | None = target
        while node is not None:
            assert node.leaf_site is not None, node.name
            chain.append(node.leaf_site)
            nxt = [c for c in node.callees if c.blocks]
            node = nxt[0] if node.leaf_kind is None and nxt else None
    else:
        raise ValueError(kind)
    site = mod.site(ln)
    extra = [mod.site(n) for n in range(first, len(mod.body) + 1) if n != ln]
    gen.planted.append(Planted(kind, qual, site, depth, chain, extra))
