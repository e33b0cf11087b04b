from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import subprocess
import sys

import asyncpg
import pytest
from dueprocess.store.migrations import MigrationError, bundled_migrations, migrate


async def test_migrations_are_numbered_and_rerunning_applies_nothing(pool: asyncpg.Pool) -> None:
    versions = [m.version for m in bundled_migrations()]
    assert versions == sorted(versions) and versions[0] == 1
    async with pool.acquire() as conn:  # the fixture's database is already migrated
        assert await migrate(conn) == []
        applied = await conn.fetchval("SELECT count(*) FROM schema_migrations")
    assert applied == len(versions)


async def test_an_applied_migration_that_was_edited_is_refused(pool: asyncpg.Pool) -> None:
    edited = [dataclasses.replace(m, sql=m.sql + "\n-- edited") if m.version == 1 else m
              for m in bundled_migrations()]
    async with pool.acquire() as conn:
        with pytest.raises(MigrationError, match="append-only"):
            await migrate(conn, edited)


def _cli(dsn: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUEPROCESS_")}
    env.update(DUEPROCESS_DATABASE_URL=dsn, DUEPROCESS_TEMPORAL_ADDRESS="127.0.0.1:1",
               DUEPROCESS_PAYLOAD_KEY="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
    return subprocess.run([sys.executable, "-m", "dueprocess", *args], env=env,
                          capture_output=True, text=True, timeout=120)


async def test_the_cli_migrates_an_empty_database_and_workers_wait_for_it(
    empty_dsn: str,
) -> None:
    worker = await asyncio.to_thread(_cli, empty_dsn, "worker")
    assert worker.returncode == 3 and "run `dueprocess migrate`" in worker.stderr
    first = await asyncio.to_thread(_cli, empty_dsn, "migrate", "--json")
    assert first.returncode == 0
    assert json.loads(first.stdout)["applied"] == [m.name for m in bundled_migrations()]
    again = await asyncio.to_thread(_cli, empty_dsn, "migrate")
    assert again.returncode == 0 and "up to date" in again.stdout
