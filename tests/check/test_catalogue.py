"""The shipped catalogue loads, and draws the line between blocking and async APIs where it should."""

from __future__ import annotations

import pytest

from loopsafe.check.catalogue import CATEGORIES, builtin_tables, load_catalogue

catalogue = load_catalogue()

BLOCKING = {
    "time.sleep": "sleep",
    "requests.get": "http",
    "requests.Session.post": "http",
    "httpx.Client.get": "http",
    "httpx.get": "http",
    "urllib.request.urlopen": "http",
    "psycopg2.connect": "db",
    "psycopg2.extensions.cursor.execute": "db",
    "sqlite3.Connection.execute": "db",
    "sqlalchemy.orm.Session.execute": "db",
    "sqlalchemy.orm.Session.commit": "db",
    "redis.Redis.get": "db",
    "builtins.open": "file",
    "pathlib.Path.read_text": "file",
    "shutil.copy": "file",
    "subprocess.run": "subprocess",
    "os.system": "subprocess",
    "bcrypt.checkpw": "cpu",
    "hashlib.pbkdf2_hmac": "cpu",
    "threading.Event.wait": "lock",
    "threading.Semaphore.__enter__": "lock",
    "queue.Queue.get": "lock",
    "concurrent.futures.Future.result": "lock",
    "asyncio.run": "loop",
    "builtins.input": "console",
    "smtplib.SMTP": "mail",
}
NOT_BLOCKING = [
    "asyncio.sleep",
    "httpx.AsyncClient.get",
    "sqlalchemy.ext.asyncio.AsyncSession.execute",
    "redis.asyncio.Redis.get",
    "requests.Session",
    "requests.Response.json",
    "sqlalchemy.orm.Session.add",
    "sqlalchemy.orm.sessionmaker",
    "queue.Queue.get_nowait",
    "pandas.DataFrame.to_dict",
    "requests.Session.__enter__",
    "os.path.join",
    "threading.Lock.__enter__",
    "PIL.Image.Image.crop",
]


@pytest.mark.parametrize(("name", "category"), sorted(BLOCKING.items()))
def test_blocking(name: str, category: str) -> None:
    entry = catalogue.blocking(catalogue.canonical(name))
    assert entry is not None, name
    assert entry.category == category
    assert entry.why and entry.instead


@pytest.mark.parametrize("name", NOT_BLOCKING)
def test_not_blocking(name: str) -> None:
    assert catalogue.blocking(catalogue.canonical(name)) is None


def test_every_entry_is_complete() -> None:
    for entry in builtin_tables()["blocking"]:
        assert entry["category"] in CATEGORIES
        assert entry["why"].strip() and entry["instead"].strip()


def test_aliases_canonicalise() -> None:
    assert (
        catalogue.canonical("sqlalchemy.orm.session.Session.execute")
        == "sqlalchemy.orm.Session.execute"
    )
    assert catalogue.canonical("starlette.datastructures.UploadFile") == "fastapi.UploadFile"


def test_allow_silences_and_user_entries_extend() -> None:
    extra = {
        "blocking": [
            {
                "names": ["corp.sdk.*"],
                "category": "sdk",
                "why": "w",
                "instead": "i",
                "exclude": ["corp.sdk.build"],
            }
        ]
    }
    custom = load_catalogue(extra, allow=("time.sleep",))
    assert custom.blocking("time.sleep") is None
    assert custom.blocking("corp.sdk.fetch") is not None
    assert custom.blocking("corp.sdk.build") is None
