"""Password hashing (CPU-bound: call through asyncio.to_thread) and signed tokens (cheap)."""

import hashlib
import hmac
import secrets

from app.settings import settings

ITERATIONS = 200_000


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, ITERATIONS)
    return f"pbkdf2_sha256${ITERATIONS}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    _, iterations, salt_hex, digest_hex = stored.split("$")
    digest = hashlib.pbkdf2_hmac(
        "sha256", password.encode(), bytes.fromhex(salt_hex), int(iterations)
    )
    return hmac.compare_digest(digest.hex(), digest_hex)


def sign_token(user_id: int) -> str:
    sig = hmac.new(settings.secret_key.encode(), str(user_id).encode(), hashlib.sha256).hexdigest()
    return f"{user_id}.{sig}"


def decode_token(token: str) -> int | None:
    raw_id, _, sig = token.partition(".")
    expected = hmac.new(settings.secret_key.encode(), raw_id.encode(), hashlib.sha256).hexdigest()
    if not raw_id.isdigit() or not hmac.compare_digest(expected, sig):
        return None
    return int(raw_id)
