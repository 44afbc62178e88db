"""Shared FastAPI dependencies."""
import hashlib
import hmac

from fastapi import Depends, HTTPException, status
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from app.db import User, get_db
from app.settings import settings

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/users/login")


def sign_token(user_id: int) -> str:
    sig = hmac.new(settings.secret_key.encode(), str(user_id).encode(), hashlib.sha256).hexdigest()
    return f"{user_id}.{sig}"


def decode_token(token: str) -> int:
    raw_id, _, sig = token.partition(".")
    expected = hmac.new(settings.secret_key.encode(), raw_id.encode(), hashlib.sha256).hexdigest()
    if not raw_id.isdigit() or not hmac.compare_digest(expected, sig):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid token")
    return int(raw_id)


async def get_current_user(
    token: str = Depends(oauth2_scheme), db: Session = Depends(get_db)
) -> User:
    user_id = decode_token(token)
    # DON'T: an async dependency runs on the event loop even for plain "def" routes,
    # so this synchronous Session lookup blocks every authenticated request
    user = db.get(User, user_id)
    if user is None or not user.is_active:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unknown user")
    return user
