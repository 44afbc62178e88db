"""Data access for users (synchronous SQLAlchemy)."""
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import SessionLocal, User


class UserRepo:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, user_id: int) -> User | None:
        stmt = select(User).where(User.id == user_id)
        return self.session.execute(stmt).scalar_one_or_none()

    def find_by_email(self, email: str) -> User | None:
        stmt = select(User).where(User.email == email.lower())
        return self.session.execute(stmt).scalar_one_or_none()


def get_repo() -> UserRepo:
    return UserRepo(SessionLocal())
