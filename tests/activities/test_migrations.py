from __future__ import annotations

import dataclasses

import asyncpg
import pytest
from dueprocess.activities.migrations import MigrationError, bundled_migrations, migrate


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
