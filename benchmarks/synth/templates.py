"""Fixed source text: the bodies of ``core/``, ``clients.py``, ``deps.py``, and ``pyproject.toml``."""

from __future__ import annotations

CONFIG_PY = '''
class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="APP_", env_file=".env", extra="ignore")

    environment: str = "development"
    api_base_url: str = "https://api.example.com/v1"
    database_url: str = "postgresql+psycopg://app:app@localhost/app"
    async_database_url: str = "postgresql+asyncpg://app:app@localhost/app"
    redis_url: str = "redis://localhost:6379/0"
    data_dir: str = "/var/lib/app"
    secret_key: str = "change-me"
    access_token_minutes: int = 30
    cors_origins: list[str] = ["http://localhost:3000"]


def _read_version() -> str:
    """Read the release version shipped next to the package (runs once, at import)."""
    with open(VERSION_FILE, encoding="utf-8") as fh:
        return fh.read().strip()


@lru_cache
def get_settings() -> Settings:
    return Settings()


settings = get_settings()
APP_VERSION = _read_version() if VERSION_FILE.exists() else "0.0.0"
'''

DB_PY = '''
class Base(DeclarativeBase):
    """Declarative base for every ORM model."""
'''

SECURITY_PY = '''
pwd_context = CryptContext(schemes=["bcrypt"], deprecated="auto")
ALGORITHM = "HS256"


def hash_password(password: str) -> str:
    """CPU-heavy on purpose; call it off the event loop."""
    return pwd_context.hash(password)


def verify_password(password: str, hashed: str) -> bool:
    return pwd_context.verify(password, hashed)


def create_access_token(subject: str, minutes: int | None = None) -> str:
    expires = datetime.now(UTC) + timedelta(minutes=minutes or settings.access_token_minutes)
    return jwt.encode({"sub": subject, "exp": expires}, settings.secret_key, algorithm=ALGORITHM)


def decode_token(token: str) -> dict[str, Any]:
    try:
        return dict(jwt.decode(token, settings.secret_key, algorithms=[ALGORITHM]))
    except JWTError as exc:
        raise ValueError("invalid token") from exc
'''

LOGGING_PY = """
def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
"""

EXCEPTIONS_PY = """
class DomainError(Exception):
    status_code = 400


class NotFoundError(DomainError):
    status_code = 404


async def domain_error_handler(request: Request, exc: Exception) -> JSONResponse:
    status = getattr(exc, "status_code", 400)
    return JSONResponse({"detail": str(exc), "path": request.url.path}, status_code=status)


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, domain_error_handler)
"""

MIDDLEWARE_PY = """
class TimingMiddleware(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        started = time.perf_counter()
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        response = await call_next(request)
        elapsed_ms = (time.perf_counter() - started) * 1000
        response.headers["x-request-id"] = request_id
        response.headers["server-timing"] = f"app;dur={elapsed_ms:.1f}"
        return response
"""

EVENTS_PY = """
@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    logger.info("starting %s", settings.environment)
    await cache.ping()
    yield
    await http_client.aclose()
    await cache.aclose()
    await async_engine.dispose()
"""

CLIENTS_PY = """
http_client = httpx.AsyncClient(base_url=settings.api_base_url, timeout=10.0)
legacy_http = requests.Session()
legacy_http.headers.update({"user-agent": "acme-platform/1.0"})

engine = create_engine(settings.database_url, pool_pre_ping=True)
SessionLocal = sessionmaker(bind=engine, autoflush=False, expire_on_commit=False)

async_engine = create_async_engine(settings.async_database_url, pool_size=10)
AsyncSessionLocal = async_sessionmaker(async_engine, expire_on_commit=False)

cache = aioredis.from_url(settings.redis_url, decode_responses=False)
"""

DEPS_PY = """
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token")


def get_db() -> Iterator[Session]:
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


async def get_async_db() -> AsyncIterator[AsyncSession]:
    async with AsyncSessionLocal() as session:
        yield session


DbSession = Annotated[Session, Depends(get_db)]
AsyncDbSession = Annotated[AsyncSession, Depends(get_async_db)]


async def get_current_user(
    token: Annotated[str, Depends(oauth2_scheme)],
    session: AsyncDbSession,
) -> User:
    try:
        claims = decode_token(token)
    except ValueError as exc:
        raise HTTPException(status_code=401, detail="invalid credentials") from exc
    user = await session.get(User, int(claims["sub"]))
    if user is None or not user.is_active:
        raise HTTPException(status_code=401, detail="inactive user")
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


async def require_admin(user: CurrentUser) -> User:
    if user.status != "admin":
        raise HTTPException(status_code=403, detail="admin only")
    return user


def get_settings_dep() -> Settings:
    return get_settings()
"""


PYPROJECT = """\
[project]
name = "acme-platform"
version = "0.1.0"
description = "Synthetic FastAPI service generated by loopsafe's benchmarks/check_speed.py"
requires-python = ">=3.11"
dependencies = [
    "fastapi>=0.110",
    "sqlalchemy>=2.0",
    "pydantic>=2.6",
    "pydantic-settings>=2.2",
    "httpx>=0.27",
    "requests>=2.31",
    "redis>=5.0",
    "aiofiles>=23.2",
    "anyio>=4.3",
    "python-jose>=3.3",
    "passlib[bcrypt]>=1.7",
]

[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[tool.ruff]
line-length = 100
target-version = "py311"
"""
