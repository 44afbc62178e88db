"""A throwaway PostgreSQL server for the tests, started from the Debian binaries.

The server runs as a non-root user (PostgreSQL refuses root): the current user when not root,
else `postgres` (created by Debian's postgresql package) or `nobody`. Its data directory and
unix socket live in a fresh temporary directory, it listens on a free 127.0.0.1 port, and
`stop()` shuts it down and removes the directory.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

PG_BIN = Path(os.environ.get("LOOPSAFE_PG_BIN", "/usr/lib/postgresql/15/bin"))


def missing_reason() -> str | None:
    """Why no server can be started here, or None when it can."""
    for tool in ("initdb", "pg_ctl", "postgres"):
        if not (PG_BIN / tool).exists():
            return f"PostgreSQL binaries not found in {PG_BIN} (apt-get install postgresql)"
    if os.geteuid() == 0 and _server_user() is None:
        return "running as root and no `postgres` or `nobody` user to run PostgreSQL as"
    return None


def _server_user() -> pwd.struct_passwd | None:
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid())
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Postgres:
    """One running server; `dsn(db)` and `url(db, driver)` address its databases."""

    def __init__(self) -> None:
        user = _server_user()
        assert user is not None, missing_reason()
        self._user = user
        self.root = Path(tempfile.mkdtemp(prefix="loopsafe-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.superuser = "loopsafe"
        os.chown(self.root, user.pw_uid, user.pw_gid)

    def _run(self, *args: str) -> None:
        as_other = os.geteuid() != self._user.pw_uid
        subprocess.run(
            args,
            check=True,
            capture_output=True,
            cwd=self.root,
            user=self._user.pw_uid if as_other else None,
            group=self._user.pw_gid if as_other else None,
            extra_groups=[] if as_other else None,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"},
        )

    def start(self) -> Postgres:
        self._run(
            str(PG_BIN / "initdb"), "-D", str(self.data), "-U", self.superuser,
            "-A", "trust", "-E", "UTF8", "--no-sync",
        )  # fmt: skip
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", options,
            "-l", str(self.root / "server.log"), "-w", "-t", "30", "start",
        )  # fmt: skip
        return self

    def create_database(self, name: str) -> None:
        import psycopg2

        conn = psycopg2.connect(self.dsn("postgres"))
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(f'CREATE DATABASE "{name}"')
        finally:
            conn.close()

    def dsn(self, db: str) -> str:
        return f"host=127.0.0.1 port={self.port} user={self.superuser} dbname={db}"

    def url(self, db: str, driver: str) -> str:
        return f"postgresql+{driver}://{self.superuser}@127.0.0.1:{self.port}/{db}"

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
