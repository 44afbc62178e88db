"""Request-scoped dependencies: DB session, shared HTTP client, current user."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request, status
from sqlalchemy.ext.asyncio import AsyncSession

from app.clients import Upstreams
from app.concurrency import TaskTracker
from app.db import User
from app.security import decode_token


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessionmaker() as session:
        yield session


async def get_upstreams(request: Request) -> Upstreams:
    return request.app.state.upstreams


async def get_tasks(request: Request) -> TaskTracker:
    return request.app.state.tasks


SessionDep = Annotated[AsyncSession, Depends(get_session)]
UpstreamsDep = Annotated[Upstreams, Depends(get_upstreams)]
TasksDep = Annotated[TaskTracker, Depends(get_tasks)]


async def get_current_user(
    session: Annotated[AsyncSession, Depends(get_session)],
    authorization: Annotated[str | None, Header()] = None,
) -> User:
    scheme, _, token = (authorization or "").partition(" ")
    user_id = decode_token(token) if scheme.lower() == "bearer" else None
    user = await session.get(User, user_id) if user_id is not None else None
    if user is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "not authenticated",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]
