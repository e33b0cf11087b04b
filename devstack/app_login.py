"""The login the workers and the CLI's store commands use in the embedded stack: granted the
application role (migrations 0001 and 0010 define what it may do), with a generated
password kept in PASSFILE (a libpq password file, 0600) and checked by scram-sha-256.
Migrations run as the server's owner (postgres, over the unix socket).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

APP_LOGIN = "dueprocess_worker"
APP_ROLE = "dueprocess_app"
PASSFILE = "db-app.pgpass"
_HBA_MARK = "# dueprocess: the application login must give its password"


def ensure_app_login(admin_dsn: str, pgdata: Path, data_dir: Path,
                     psql: Callable[[str, str], str]) -> None:
    """The application login exists, is granted the application role, has the password
    in PASSFILE, and must give it (scram-sha-256, not the trust initdb set up)."""
    password = app_password(data_dir)
    # The role may predate migration 0001 here; 0001 leaves an existing one alone.
    psql(admin_dsn, f"""
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
    hba = pgdata / "pg_hba.conf"
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
        psql(admin_dsn, "SELECT pg_reload_conf()")


def app_password(data_dir: Path) -> str:
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
