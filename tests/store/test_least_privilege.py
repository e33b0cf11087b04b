"""The application role writes the record only through the owner's functions (0010)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import asyncpg
import pytest
from dueprocess.devstack.stack import APP_LOGIN, PASSFILE, EmbeddedPostgres
from dueprocess.domain.envelope import envelope_for
from dueprocess.services.statistics import projected_statistics
from dueprocess.store import crypto
from dueprocess.store.db import Pinned, Pool
from dueprocess.store.eventstore import EventStore
from dueprocess.store.keys import wrap_keys
from dueprocess.store.projections import CaseStatisticsProjection, ProjectionRunner
from dueprocess.store.verify import verify_store
from dueprocess.worker import ensure_schema
from fixtures.events import ev, pii
from fixtures.statistics_cases import happy

FORGERIES = [
    # a forged event with a chosen hash, and a stream head moved to match it
    """INSERT INTO events (stream_id, stream_version, event_id, event_type, data, hash)
       VALUES ('s', 2, gen_random_uuid(), 'Forged', '\\x7b7d', '\\x00')""",
    "UPDATE streams SET version = 2, head_hash = '\\x00' WHERE stream_id = 's'",
    "INSERT INTO streams (stream_id, version, head_hash) VALUES ('new', 1, '\\x00')",
    "DELETE FROM streams",
    "INSERT INTO subject_keys (subject_id, key_material) VALUES ('p-9', '\\x00')",
    "UPDATE subject_keys SET key_material = NULL, destroyed_at = now()",
    "UPDATE subject_keys SET key_material = '\\x00'",
    "UPDATE events SET event_type = 'x'",
    "DELETE FROM events",
    "CREATE TABLE events_shadow (x int)",
]


@pytest.mark.parametrize("sql", FORGERIES)
async def test_the_application_role_cannot_write_the_record_directly(
    store: EventStore, app_pool: Pool, pool: asyncpg.Pool, sql: str
) -> None:
    await store.append("s", 0, [ev(payload={"who": pii("p-1", "Ada")})])
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await app_pool.execute(sql)
    async with pool.acquire() as conn:
        report = await verify_store(conn)
    assert report.ok and report.events == 1


async def test_the_application_role_appends_reads_erases_and_wraps_keys(
    app_pool: Pool, pool: asyncpg.Pool
) -> None:
    app = EventStore(app_pool)
    await app.append("s", 0, [ev(payload={"who": pii("p-1", "Ada"), "w": pii("p-2", "Bo")})])
    await app.append("s", 1, [ev(payload={"who": pii("p-1", "Ada again")})])
    assert [e.payload["who"]["value"] for e in await app.read_stream("s")] == [
        "Ada", "Ada again"]
    assert await app.erase_subject("p-1") == 1
    [first, _] = await app.read_stream("s")
    assert first.payload["who"]["erased"] is True and first.payload["w"]["value"] == "Bo"
    result = await wrap_keys(app_pool, crypto.KeyWrap((os.urandom(32),)))
    assert result.wrapped == 1 and not result.failed  # p-2's key; p-1's is destroyed
    async with app_pool.acquire() as conn:
        assert (await verify_store(conn)).ok


async def test_a_worker_logged_in_as_the_application_role_finds_the_schema_ready(
    app_pool: Pool,
) -> None:
    await ensure_schema(app_pool, apply=False)  # reads schema_migrations: no exit 3


async def test_the_owners_functions_are_not_open_to_every_role(
    pool: asyncpg.Pool, db_dsn: str
) -> None:
    login = f"nobody_{uuid.uuid4().hex[:8]}"
    await pool.execute(f"CREATE ROLE {login} LOGIN")
    try:
        conn = await asyncpg.connect(db_dsn.replace("postgres:@", f"{login}:@", 1))
        try:
            for sql in ("SELECT dueprocess_erase_subject('p-1')",
                        "SELECT dueprocess_wrap_key(1, '\\x00', '\\x00')",
                        "SELECT * FROM dueprocess_append('s', 0, ''::bytea, '{}', '{}', '{}', "
                        "'{}', '{}', '{}', '{}', '{}')",
                        "SELECT * FROM dueprocess_append_group('{}', '{}', '{}', '{}', '{}', "
                        "'{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}')"):
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await conn.execute(sql)
        finally:
            await conn.close()
    finally:
        await pool.execute(f"DROP OWNED BY {login}")
        await pool.execute(f"DROP ROLE {login}")


async def test_the_embedded_stack_runs_the_application_as_a_password_login(
    tmp_path: Path,
) -> None:
    server = EmbeddedPostgres(tmp_path / "data")
    owner_dsn = server.start()
    try:
        assert (tmp_path / "data").stat().st_mode & 0o077 in (0, 0o011)  # 0700, root: 0711
        assert (tmp_path / "data" / PASSFILE).stat().st_mode & 0o777 == 0o600
        conn = await asyncpg.connect(owner_dsn)
        try:
            from dueprocess.store.migrations import migrate

            await migrate(conn)
        finally:
            await conn.close()
        app = await asyncpg.connect(server.app_dsn)
        try:
            assert await app.fetchval("SELECT current_user") == APP_LOGIN
            assert not await app.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = $1",
                                          APP_LOGIN)
            assert await app.fetchval("SELECT pg_has_role($1, 'dueprocess_app', 'USAGE')",
                                      APP_LOGIN)
            await EventStore(Pinned(app)).append("s", 0, [ev(payload={"who": pii("p", "Ada")})])
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await app.execute("UPDATE streams SET version = 9")
        finally:
            await app.close()
        # Not trusted: without the password file the login is refused.
        without = server.app_dsn.split("&passfile=")[0].split("?passfile=")[0]
        with pytest.raises(asyncpg.InvalidPasswordError):
            await asyncpg.connect(without, passfile=str(tmp_path / "none"))
    finally:
        server.stop()


async def test_the_application_role_keeps_and_reads_the_statistics_read_model(
    app_pool: Pool,
) -> None:
    # given a case recorded by the application role
    app = EventStore(app_pool)
    case = happy("lp")
    await app.append(case.stream_id, 0, [
        envelope_for(e, event_id=uuid.uuid4(), recorded_at=e.effective_at) for e in case.events])
    # when its worker keeps the statistics read model, and rebuilds it
    runner = ProjectionRunner(app_pool, app, [CaseStatisticsProjection()])
    assert await runner.catch_up() > 0
    assert await runner.rebuild() > 0
    # then it reads the statistics from it
    assert (await projected_statistics(app_pool)).cases == 1
