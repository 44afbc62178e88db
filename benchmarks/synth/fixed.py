"""The modules every tree has: ``core/``, ``clients.py``, ``deps.py`` and ``main.py``."""

from __future__ import annotations

from .emit import Module
from .plan import Generator
from .spec import PACKAGE, Decoy
from .templates import (
    CLIENTS_PY,
    CONFIG_PY,
    DB_PY,
    DEPS_PY,
    EVENTS_PY,
    EXCEPTIONS_PY,
    LOGGING_PY,
    MIDDLEWARE_PY,
    SECURITY_PY,
)


def fixed_modules(gen: Generator) -> list[Module]:
    mods: list[Module] = []

    def make(
        dotted: str,
        doc: str,
        text: str,
        imports: list[tuple[str, str | None]],
        logger: bool = False,
    ) -> Module:
        mod = Module(dotted, doc)
        for module, name in imports:
            if name is None:
                mod.imports.plain(module)
            else:
                mod.imports.from_(module, name)
        if logger:
            mod.use_logger()
        mod.block(text)
        mods.append(mod)
        return mod

    cfg = make(
        f"{PACKAGE}.core.config",
        "Application settings, read once from the environment.",
        CONFIG_PY,
        [
            ("functools", "lru_cache"),
            ("pathlib", "Path"),
            ("pydantic_settings", "BaseSettings"),
            ("pydantic_settings", "SettingsConfigDict"),
        ],
    )
    cfg.body[0:0] = ['VERSION_FILE = Path(__file__).resolve().parent.parent / "VERSION"', "", ""]
    open_line = next(i for i, t in enumerate(cfg.body, 1) if "with open(VERSION_FILE" in t)
    gen.decoys.append(Decoy("import_time_open", cfg.site(open_line)))
    make(
        f"{PACKAGE}.core.db",
        "SQLAlchemy declarative base.",
        DB_PY,
        [("sqlalchemy.orm", "DeclarativeBase")],
    )
    make(
        f"{PACKAGE}.core.security",
        "Password hashing and access tokens.",
        SECURITY_PY,
        [
            ("datetime", "UTC"),
            ("datetime", "datetime"),
            ("datetime", "timedelta"),
            ("typing", "Any"),
            ("jose", "JWTError"),
            ("jose", "jwt"),
            ("passlib.context", "CryptContext"),
            (f"{PACKAGE}.core.config", "settings"),
        ],
    )
    make(f"{PACKAGE}.core.logging", "Logging setup.", LOGGING_PY, [("logging", None)])
    make(
        f"{PACKAGE}.core.exceptions",
        "Domain errors and their HTTP mapping.",
        EXCEPTIONS_PY,
        [("fastapi", "FastAPI"), ("fastapi", "Request"), ("fastapi.responses", "JSONResponse")],
    )
    make(
        f"{PACKAGE}.core.middleware",
        "Request timing and request ids.",
        MIDDLEWARE_PY,
        [
            ("time", None),
            ("uuid", None),
            ("starlette.middleware.base", "BaseHTTPMiddleware"),
            ("starlette.middleware.base", "RequestResponseEndpoint"),
            ("starlette.requests", "Request"),
            ("starlette.responses", "Response"),
        ],
    )
    make(
        f"{PACKAGE}.core.events",
        "Application lifespan: open and close shared clients.",
        EVENTS_PY,
        [
            ("collections.abc", "AsyncIterator"),
            ("contextlib", "asynccontextmanager"),
            ("fastapi", "FastAPI"),
            (f"{PACKAGE}.clients", "async_engine"),
            (f"{PACKAGE}.clients", "cache"),
            (f"{PACKAGE}.clients", "http_client"),
            (f"{PACKAGE}.core.config", "settings"),
        ],
        logger=True,
    )
    make(
        f"{PACKAGE}.clients",
        "Process-wide clients, created once at import time.",
        CLIENTS_PY,
        [
            ("httpx", None),
            ("requests", None),
            ("sqlalchemy", "create_engine"),
            ("sqlalchemy.ext.asyncio", "async_sessionmaker"),
            ("sqlalchemy.ext.asyncio", "create_async_engine"),
            ("sqlalchemy.orm", "sessionmaker"),
            (f"{PACKAGE}.core.config", "settings"),
        ],
    )
    mods[-1].imports.plain("redis.asyncio", "aioredis")
    make(
        f"{PACKAGE}.deps",
        "FastAPI dependencies shared by the routers.",
        DEPS_PY,
        [
            ("collections.abc", "AsyncIterator"),
            ("collections.abc", "Iterator"),
            ("typing", "Annotated"),
            ("fastapi", "Depends"),
            ("fastapi", "HTTPException"),
            ("fastapi.security", "OAuth2PasswordBearer"),
            ("sqlalchemy.ext.asyncio", "AsyncSession"),
            ("sqlalchemy.orm", "Session"),
            (f"{PACKAGE}.clients", "AsyncSessionLocal"),
            (f"{PACKAGE}.clients", "SessionLocal"),
            (f"{PACKAGE}.core.config", "Settings"),
            (f"{PACKAGE}.core.config", "get_settings"),
            (f"{PACKAGE}.core.security", "decode_token"),
            (f"{PACKAGE}.models.user", "User"),
        ],
    )
    return mods


def main_module(gen: Generator) -> Module:
    """``app/main.py``: the ASGI app, every domain's router included."""
    main = Module(f"{PACKAGE}.main", "ASGI entry point: ``uvicorn app.main:app``.")
    main.imports.from_("fastapi", "FastAPI")
    main.imports.from_("fastapi.middleware.cors", "CORSMiddleware")
    main.imports.from_(f"{PACKAGE}.core.config", "APP_VERSION")
    main.imports.from_(f"{PACKAGE}.core.config", "settings")
    main.imports.from_(f"{PACKAGE}.core.events", "lifespan")
    main.imports.from_(f"{PACKAGE}.core.exceptions", "install")
    main.imports.from_(f"{PACKAGE}.core.middleware", "TimingMiddleware")
    for d in gen.domains:
        main.imports.from_(f"{PACKAGE}.routers", d.name, f"{d.name}_router")
    main.gap()
    main.emit('app = FastAPI(title="acme-platform", version=APP_VERSION, lifespan=lifespan)')
    main.emit("app.add_middleware(TimingMiddleware)")
    main.emit(
        "app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=['*'])"
    )
    main.emit("install(app)")
    main.emit()
    for d in gen.domains:
        main.emit(f'app.include_router({d.name}_router.router, prefix="/api/v1")')
    main.emit()
    main.emit()
    main.emit('@app.get("/healthz")')
    main.emit("async def healthz() -> dict[str, str]:")
    main.emit('return {"status": "ok", "version": APP_VERSION}', 1)
    return main
