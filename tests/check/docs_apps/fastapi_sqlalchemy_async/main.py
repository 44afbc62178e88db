"""The application: lifespan, routers, and a sync route (FastAPI docs, "def vs async def")."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI

from .database import Base, engine
from .dependencies import get_token_header, get_username, log_request_duration
from .routers import chat, heroes, teams

TERMS_FILE = Path(__file__).parent / "terms.md"


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield
    await engine.dispose()


app = FastAPI(lifespan=lifespan)

app.include_router(heroes.router, dependencies=[Depends(log_request_duration)])
app.include_router(
    teams.router, dependencies=[Depends(get_token_header), Depends(log_request_duration)]
)
app.include_router(chat.router)


def load_terms() -> str:
    return TERMS_FILE.read_text(encoding="utf-8")


@app.get("/")
async def root() -> dict[str, str]:
    return {"message": "Hello Bigger Applications!"}


@app.get("/terms")
def read_terms() -> dict[str, str]:
    return {"terms": load_terms()}


@app.get("/me")
async def read_me(username: Annotated[str, Depends(get_username)]) -> dict[str, str]:
    return {"username": username}
