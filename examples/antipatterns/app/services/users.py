"""User use-cases."""
from app.db import SessionLocal, User
from app.repositories.users import UserRepo


def load_user(user_id: int) -> User | None:
    with SessionLocal() as session:
        return UserRepo(session).get(user_id)


def store_api_key(user_id: int, salt: bytes, digest: bytes) -> None:
    with SessionLocal() as session:
        user = session.get(User, user_id)
        if user is not None:
            user.api_key_hash = f"pbkdf2_sha256${salt.hex()}${digest.hex()}"
            session.commit()
