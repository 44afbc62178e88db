"""Accounts, login and support contact."""
import asyncio
import hashlib
import secrets
import smtplib
import time
from email.message import EmailMessage

import bcrypt
from fastapi import APIRouter, BackgroundTasks, Body, Depends, HTTPException, status
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel
from sqlalchemy import update
from sqlalchemy.orm import Session

from app.clients import pwd_context
from app.concurrency import run_blocking
from app.db import User, get_db
from app.deps import decode_token, get_current_user, sign_token
from app.repositories.users import get_repo
from app.services import audit
from app.services import users as user_service
from app.services.notifications import send_password_reset
from app.services.users import load_user
from app.settings import settings

router = APIRouter()


class Registration(BaseModel):
    email: str
    password: str


class ContactMessage(BaseModel):
    email: str
    subject: str
    body: str


@router.post("/register", status_code=201)
def register(payload: Registration, db: Session = Depends(get_db)) -> dict:
    # Fine: bcrypt and the sync Session run in the thread pool because this is a plain def.
    pw_hash = bcrypt.hashpw(payload.password.encode(), bcrypt.gensalt()).decode()
    user = User(email=payload.email.lower(), password_hash=pw_hash)
    db.add(user)
    db.commit()
    return {"id": user.id}


@router.post("/login")
async def login(form: OAuth2PasswordRequestForm = Depends()) -> dict:
    repo = get_repo()
    # DON'T: get_repo() returns a UserRepo whose find_by_email() runs a sync Session query
    user = repo.find_by_email(form.username)
    # DON'T: bcrypt.checkpw is deliberately slow CPU work (~250 ms) and holds the loop
    if user is None or not bcrypt.checkpw(form.password.encode(), user.password_hash.encode()):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "bad credentials")
    # DON'T: fire-and-forget: nothing keeps a reference to the task, so the audit write can be
    # garbage-collected mid-flight, and if it fails nobody ever sees the exception
    asyncio.create_task(audit.record("login", user.id))
    return {"access_token": sign_token(user.id), "token_type": "bearer"}


@router.get("/me")
async def me(user: User = Depends(get_current_user)) -> dict:
    return {"id": user.id, "email": user.email, "newsletter": user.newsletter}


@router.patch("/me/preferences")
async def update_preferences(
    newsletter: bool = Body(embed=True),
    user: User = Depends(get_current_user),
    db: Session = Depends(get_db),
) -> dict:
    # DON'T: a sync Session in an async route; execute() waits for the database on the loop
    db.execute(update(User).where(User.id == user.id).values(newsletter=newsletter))
    # DON'T: commit() is another blocking round-trip
    db.commit()
    return {"newsletter": newsletter}


@router.post("/me/reauth")
async def reauthenticate(
    password: str = Body(embed=True), user: User = Depends(get_current_user)
) -> dict:
    # DON'T: CryptContext.verify runs bcrypt on the event loop
    if not pwd_context.verify(password, user.password_hash):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "wrong password")
    return {"reauthenticated": True}


@router.post("/me/api-keys", status_code=201)
async def create_api_key(user: User = Depends(get_current_user)) -> dict:
    key = secrets.token_urlsafe(32)
    salt = secrets.token_bytes(16)
    # DON'T: 200k PBKDF2 iterations is pure CPU work on the event loop
    digest = hashlib.pbkdf2_hmac("sha256", key.encode(), salt, 200_000)
    # Fine: the sync database write goes through the project's offload helper.
    await run_blocking(user_service.store_api_key, user.id, salt, digest)
    return {"api_key": key}


@router.post("/password-reset", status_code=202)
async def request_password_reset(email: str, background_tasks: BackgroundTasks) -> dict:
    token = secrets.token_urlsafe(24)
    # Fine: add_task only schedules the sync mail function; it runs in the thread pool later.
    background_tasks.add_task(send_password_reset, email, token)
    return {"status": "queued"}


@router.post("/password-reset/confirm")
def confirm_password_reset(
    token: str = Body(), new_password: str = Body(), db: Session = Depends(get_db)
) -> dict:
    try:
        user_id = decode_token(token)
    except HTTPException:
        # DON'T: a 2 s "anti brute-force" sleep in a sync route holds one of the 40 thread-pool
        # tokens shared by every sync route and dependency; 40 bad guesses stall them all
        time.sleep(2)
        raise
    pw_hash = bcrypt.hashpw(new_password.encode(), bcrypt.gensalt()).decode()
    db.execute(update(User).where(User.id == user_id).values(password_hash=pw_hash))
    db.commit()
    return {"status": "password changed"}


@router.post("/contact", status_code=202)
async def contact_support(message: ContactMessage) -> dict:
    msg = EmailMessage()
    msg["From"] = "noreply@example.com"
    msg["Reply-To"] = message.email
    msg["To"] = "support@example.com"
    msg["Subject"] = message.subject
    msg.set_content(message.body)
    # DON'T: smtplib.SMTP connects and greets the mail server synchronously
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
        # DON'T: send_message is a synchronous SMTP conversation
        smtp.send_message(msg)
    return {"status": "sent"}


@router.get("/{user_id}")
async def get_user(user_id: int, _: User = Depends(get_current_user)) -> dict:
    # DON'T: load_user -> UserRepo.get -> Session.execute is synchronous all the way down
    user = load_user(user_id)
    if user is None:
        raise HTTPException(404, "user not found")
    return {"id": user.id, "email": user.email}
