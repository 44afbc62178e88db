"""Per-domain ``routers/`` modules: CRUD routes and action routes, ``async def`` and ``def``."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from .body import Body, fill
from .emit import Module, Scope
from .functions import async_body
from .plan import Generator
from .spec import PACKAGE, Decoy, Domain, Fn


def router_module(gen: Generator, d: Domain, svc_sync: list[Fn], svc_async: list[Fn]) -> Module:
    rng = gen.rng
    mod = Module(f"{PACKAGE}.routers.{d.name}", f"HTTP endpoints for {d.plural.replace('_', ' ')}.")
    mod.future = rng.random() < 0.3
    cls, noun = d.cls, d.name
    mod.imports.from_("fastapi", "APIRouter")
    mod.imports.from_("typing", "Annotated")
    mod.imports.from_("typing", "Any")
    tag = d.plural.replace("_", "-")
    mod.gap()
    mod.emit(f'router = APIRouter(prefix="/{tag}", tags=["{tag}"])')
    id_name = f"{noun}_id"
    for fn in d.routes:
        mod.gap()
        method, _, path = fn.owner.partition(" ") if fn.owner else ("get", "", "")
        if fn.params and fn.params[0][0] == "crud":
            crud_route(gen, mod, d, fn, fn.params[0][1], fn.params[0][2] or "", id_name)
            continue
        action = fn.params[0][1]
        params: list[str] = []
        db_name: str | None = None
        session: str | None = None
        upload: str | None = None
        scope = Scope([])
        if fn.is_async and fn.mistake in ("sync_db_param", "sync_db_repo"):
            db_name = "db"
            style = rng.random()
            if style < 0.5:
                mod.imports.from_(f"{PACKAGE}.deps", "DbSession")
                params.append("db: DbSession")
            elif style < 0.8:
                mod.imports.from_("fastapi", "Depends")
                mod.imports.from_("sqlalchemy.orm", "Session")
                mod.imports.from_(f"{PACKAGE}.deps", "get_db")
                params.append("db: Annotated[Session, Depends(get_db)]")
            else:
                mod.imports.from_("fastapi", "Depends")
                mod.imports.from_("sqlalchemy.orm", "Session")
                mod.imports.from_(f"{PACKAGE}.deps", "get_db")
                params.append("db: Session = Depends(get_db)")
        elif fn.is_async:
            mod.imports.from_(f"{PACKAGE}.deps", "AsyncDbSession")
            mod.imports.from_(f"{PACKAGE}.repositories.{d.name}", f"Async{cls}Repository")
            params.append("session: AsyncDbSession")
            session = "session"
            scope.add("session", "AsyncSession")
        else:
            mod.imports.from_(f"{PACKAGE}.deps", "DbSession")
            params.append("db: DbSession")
            db_name = "db"
        if action == "upload":
            mod.imports.from_("fastapi", "UploadFile")
            params.insert(0, "file: UploadFile")
            upload = "file"
        if rng.random() < 0.5:
            mod.imports.from_(f"{PACKAGE}.deps", "CurrentUser")
            params.append("current_user: CurrentUser")
            scope.add("current_user.id", "int")
        if action in ("export", "report", "notify", "archive") and fn.is_async:
            mod.imports.from_("fastapi", "BackgroundTasks")
            params.append("background_tasks: BackgroundTasks")
        if rng.random() < 0.6:
            mod.imports.from_("fastapi", "Query")
            params.append(
                f"limit: Annotated[int, Query(ge=1, le=500)] = {rng.choice([20, 50, 100])}"
            )
            scope.add("limit", "int")
        if rng.random() < 0.4:
            mod.imports.from_("fastapi", "Query")
            params.append("q: Annotated[str | None, Query(max_length=64)] = None")
        if rng.random() < 0.25:
            mod.imports.from_("fastapi", "Header")
            params.append("x_request_id: Annotated[str | None, Header()] = None")
        params.sort(key=lambda p: "=" in p)
        deco = f'@router.{method}("{path}")'
        mod.emit(deco)
        prefix = f"{'async ' if fn.is_async else ''}def {fn.name}"
        for text in gen.signature(prefix, params, "dict[str, Any]"):
            mod.emit(text)
        mod.emit(f'"""{action.capitalize()} {d.plural.replace("_", " ")}."""', 1)
        body = Body(gen, mod, scope, 1, noun, fn.is_async)
        if fn.is_async:
            if upload and fn.mistake != "upload_file":
                data = scope.fresh("contents", "bytes")
                ln = body.line(f"{data} = await {upload}.read()")
                body.decoy("upload_async_read", ln)
            if "background_tasks: BackgroundTasks" in params and svc_sync:
                hot = [f for f in svc_sync if f.blocks and f.role != "db"] or svc_sync
                task = rng.choice(hot)
                ref = mod.ref(task, rng)
                args = gen.call_args(scope, task, positional_only=True)
                ln = body.line(f"background_tasks.add_task({', '.join([ref, *args])})")
                body.decoy("background_task", ln)
            async_body(
                gen, mod, fn, body, svc_sync, svc_async,
                session=session, db=db_name, repo_cls=f"{cls}Repository", upload=upload, lo=3, hi=5,
            )  # fmt: skip
        else:
            assert db_name is not None
            sync_route_body(gen, body, d, svc_sync, db_name, upload)
        mod.emit(f"return {gen.return_expr(scope, 'dict[str, Any]', noun)}", 1)
    return mod


def sync_route_body(
    gen: Generator, body: Body, d: Domain, svc_sync: list[Fn], db_name: str, upload: str | None
) -> None:
    """A ``def`` route: FastAPI runs it in its threadpool, so blocking here is correct."""
    rng, mod, scope = gen.rng, body.mod, body.scope
    steps: list[Callable[[], object]] = fill(gen, body, [], 1, 3)
    hot = [f for f in svc_sync if f.blocks and f.role != "db"]
    for callee in rng.sample(hot, k=min(len(hot), rng.randint(1, 2))):
        steps.append(partial(body.call_sync, callee, "sync_route_blocking"))

    def db_step(dbf: Fn) -> None:
        name = scope.fresh("loaded", "dict[str, Any]")
        ln = body.line(f"{name} = {mod.ref(dbf, rng)}({db_name})")
        body.decoy("sync_route_blocking", ln)

    def upload_step(upload: str) -> None:
        raw = scope.fresh("raw", "bytes")
        body.decoy("sync_route_blocking", body.line(f"{raw} = {upload}.file.read()"))

    if d.service_db and rng.random() < 0.6:
        chosen = rng.choice(d.service_db)
        steps.append(lambda: db_step(chosen))
    if upload:
        steps.append(lambda: upload_step(upload))
    rng.shuffle(steps)
    for step in steps:
        step()


def crud_route(
    gen: Generator, mod: Module, d: Domain, fn: Fn, method: str, path: str, id_name: str
) -> None:
    cls, noun = d.cls, d.name
    path = path.replace("{item_id}", "{" + id_name + "}")
    asy = fn.is_async
    aw = "await " if asy else ""
    if asy:
        mod.imports.from_(f"{PACKAGE}.deps", "AsyncDbSession")
        mod.imports.from_(f"{PACKAGE}.repositories.{d.name}", f"Async{cls}Repository")
        sess = "session: AsyncDbSession"
        repo = f"Async{cls}Repository(session)"
    else:
        mod.imports.from_(f"{PACKAGE}.deps", "DbSession")
        mod.imports.from_(f"{PACKAGE}.repositories.{d.name}", f"{cls}Repository")
        sess = "db: DbSession"
        repo = f"{cls}Repository(db)"
    kw = "async def" if asy else "def"
    mod.imports.from_("fastapi", "HTTPException")
    mod.imports.from_("fastapi", "Path")
    mod.imports.from_(f"{PACKAGE}.schemas.{d.name}", f"{cls}Read")
    id_param = f"{id_name}: Annotated[int, Path(ge=1)]"

    def load(indent: int = 1) -> None:
        mod.emit(f"obj = {aw}repo.get({id_name})", indent)
        mod.emit("if obj is None:", indent)
        mod.emit(
            f'raise HTTPException(status_code=404, detail="{noun.replace("_", " ")} not found")',
            indent + 1,
        )

    def head(deco: str, params: list[str], returns: str) -> None:
        mod.emit(deco)
        for ln in gen.signature(f"{kw} {fn.name}", params, returns):
            mod.emit(ln)

    ln: int
    if method == "get" and not path:
        mod.imports.from_("fastapi", "Query")
        mod.imports.from_(f"{PACKAGE}.schemas.{d.name}", f"{cls}Page")
        head(
            f'@router.get("", response_model={cls}Page)',
            [
                sess,
                "page: Annotated[int, Query(ge=1)] = 1",
                "size: Annotated[int, Query(ge=1, le=100)] = 20",
            ],
            f"{cls}Page",
        )
        mod.emit(f"repo = {repo}", 1)
        ln = mod.emit(f"items = {aw}repo.list(limit=size, offset=(page - 1) * size)", 1)
        mod.emit(f"total = {aw}repo.count()", 1)
        mod.emit(f"return {cls}Page(", 1)
        mod.emit(f"items=[{cls}Read.model_validate(item) for item in items],", 2)
        mod.emit("total=total,", 2)
        mod.emit("page=page,", 2)
        mod.emit("size=size,", 2)
        mod.emit(")", 1)
    elif method == "get":
        head(f'@router.get("{path}", response_model={cls}Read)', [id_param, sess], f"{cls}Read")
        mod.emit(f"repo = {repo}", 1)
        ln = len(mod.body) + 1
        load()
        mod.emit(f"return {cls}Read.model_validate(obj)", 1)
    elif method == "post":
        mod.imports.from_(f"{PACKAGE}.schemas.{d.name}", f"{cls}Create")
        mod.imports.from_(f"{PACKAGE}.deps", "CurrentUser")
        head(
            f'@router.post("", response_model={cls}Read, status_code=201)',
            [f"payload: {cls}Create", sess, "current_user: CurrentUser"],
            f"{cls}Read",
        )
        mod.use_logger()
        mod.emit(f"repo = {repo}", 1)
        ln = mod.emit(f"obj = {aw}repo.create(payload)", 1)
        mod.emit(f'logger.info("user %s created {noun} %s", current_user.id, obj.id)', 1)
        mod.emit(f"return {cls}Read.model_validate(obj)", 1)
    elif method == "patch":
        mod.imports.from_(f"{PACKAGE}.schemas.{d.name}", f"{cls}Update")
        head(
            f'@router.patch("{path}", response_model={cls}Read)',
            [id_param, f"payload: {cls}Update", sess],
            f"{cls}Read",
        )
        mod.emit(f"repo = {repo}", 1)
        ln = len(mod.body) + 1
        load()
        mod.emit(f"obj = {aw}repo.update(obj, payload)", 1)
        mod.emit(f"return {cls}Read.model_validate(obj)", 1)
    else:
        mod.imports.from_(f"{PACKAGE}.deps", "require_admin")
        mod.imports.from_("fastapi", "Depends")
        head(
            f'@router.delete("{path}", status_code=204, dependencies=[Depends(require_admin)])',
            [id_param, sess],
            "None",
        )
        mod.emit(f"repo = {repo}", 1)
        ln = len(mod.body) + 1
        load()
        mod.emit(f"{aw}repo.delete(obj)", 1)
    gen.decoys.append(Decoy("async_db" if asy else "sync_route_blocking", mod.site(ln)))
