"""Shared fixtures: one real PostgreSQL per test session, a fresh database per test.

Set DUEPROCESS_TEST_DATABASE_URL to run against an existing server instead of the
embedded one (the URL's user must be allowed to CREATE DATABASE).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from dueprocess.activities.reporter import ReporterActivities
from dueprocess.activities.respondent import RespondentActivities
from dueprocess.activities.rulebook import RulebookActivities
from dueprocess.services.rulebook import RulebookService
from dueprocess.store.db import Pool, create_pool
from dueprocess.store.eventstore import EventStore
from dueprocess.store.migrations import migrate

TEMPLATE = "dueprocess_test_template"


def with_database(dsn: str, database: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{database}"))


@pytest.fixture(scope="session")
def pg_dsn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    explicit = os.environ.get("DUEPROCESS_TEST_DATABASE_URL")
    if explicit:
        yield explicit
        return
    from dueprocess.devstack.stack import EmbeddedPostgres

    server = EmbeddedPostgres(tmp_path_factory.mktemp("pg"))
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="session")
async def template_dsn(pg_dsn: str) -> str:
    admin = await asyncpg.connect(pg_dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE}"')
        await admin.execute(f'CREATE DATABASE "{TEMPLATE}"')
    finally:
        await admin.close()
    dsn = with_database(pg_dsn, TEMPLATE)
    conn = await asyncpg.connect(dsn)
    try:
        await migrate(conn)
    finally:
        await conn.close()
    return dsn


async def _fresh_database(pg_dsn: str) -> str:
    name = f"t_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(pg_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
    finally:
        await admin.close()
    return with_database(pg_dsn, name)


@pytest.fixture
async def db_dsn(pg_dsn: str, template_dsn: str) -> AsyncIterator[str]:
    dsn = await _fresh_database(pg_dsn)
    yield dsn
    admin = await asyncpg.connect(pg_dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{urlsplit(dsn).path[1:]}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def pool(db_dsn: str) -> AsyncIterator[Pool]:
    p = await create_pool(db_dsn, min_size=1, max_size=10)
    yield p
    await p.close()


@pytest.fixture
async def store(pool: Pool) -> EventStore:
    return EventStore(pool)


@pytest.fixture
async def empty_dsn(pg_dsn: str) -> AsyncIterator[str]:
    """A database with no schema at all (for migration tests)."""
    name = f"empty_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(pg_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield with_database(pg_dsn, name)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def load_rulebook(store: EventStore) -> Any:
    """The rulebook activity over a store where the shipped sample is published."""
    service = RulebookService(store)
    await service.publish_sample_if_none()
    return RulebookActivities(service.current).load_rulebook


@pytest.fixture
async def load_reporter_record(pool: Pool, store: EventStore) -> Any:
    """The repeat-reporter activity (DSA Art 23): a worker filing reports under the sample
    rulebook registers it beside ``load_rulebook``."""
    return ReporterActivities(pool, store).load_reporter_record


@pytest.fixture
async def load_respondent_record(pool: Pool, store: EventStore) -> Any:
    """The prior-sanctions activity (ACAS 19-22): a worker recording decisions registers it
    beside ``load_rulebook``."""
    return RespondentActivities(pool, store).load_respondent_record
