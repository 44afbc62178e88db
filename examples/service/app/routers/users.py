"""Registration and login. Password hashing is CPU work, so it runs in a worker thread."""

import asyncio

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError

from app.db import User
from app.deps import CurrentUser, SessionDep
from app.repositories import users as repo
from app.security import hash_password, sign_token, verify_password

router = APIRouter()


class Credentials(BaseModel):
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$", max_length=254)
    password: str = Field(min_length=8, max_length=128)


@router.post("/register", status_code=status.HTTP_201_CREATED)
async def register(body: Credentials, session: SessionDep) -> dict:
    pw_hash = await asyncio.to_thread(hash_password, body.password)
    user = User(email=body.email.lower(), password_hash=pw_hash)
    session.add(user)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise HTTPException(status.HTTP_409_CONFLICT, "email already registered") from None
    return {"id": user.id, "email": user.email}


@router.post("/login")
async def login(body: Credentials, session: SessionDep) -> dict:
    user = await repo.get_by_email(session, body.email)
    ok = user is not None and await asyncio.to_thread(
        verify_password, body.password, user.password_hash
    )
    if not ok:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "bad credentials")
    return {"access_token": sign_token(user.id), "token_type": "bearer"}


@router.get("/me")
async def me(user: CurrentUser) -> dict:
    return {"id": user.id, "email": user.email}
