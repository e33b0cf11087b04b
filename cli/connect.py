"""How CLI commands reach the services: the configured ones, else the stack a running
`dueprocess dev` announced in the data dir (devstack/announce.py)."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from temporalio.client import Client

from ..devstack.announce import running_stack
from ..devstack.stack import EmbeddedPostgres
from ..domain.case.upcasters import CASE_UPCASTERS
from ..services.codec import data_converter, payload_key
from ..settings import ConfigError, Settings
from ..store.db import Database, create_pool
from ..store.eventstore import EventStore
from ..worker import keyring_for, migrate_as_owner, require_dev_servers


@asynccontextmanager
async def connect_client(settings: Settings) -> AsyncIterator[Client]:
    """Client commands never start servers: they use the configured address or the one
    a running `dueprocess dev` wrote to the data dir."""
    address = settings.temporal_address or running_stack(settings.data_dir).get(
        "temporal_address")
    if not address:
        raise ConfigError("DUEPROCESS_TEMPORAL_ADDRESS: not set and no `dueprocess dev` is "
                          f"running with data dir {settings.data_dir}")
    key = settings.payload_key_bytes()
    if not settings.subject_sealing:
        yield await Client.connect(**settings.temporal_connect_args(address),
                                   data_converter=data_converter(key))
        return
    # Personal values are sealed under their subjects' keys: the client reads the keys
    # from the database the workers use.
    async with connect_pool(settings) as pool:
        yield await Client.connect(
            **settings.temporal_connect_args(address),
            data_converter=data_converter(key, keyring=keyring_for(settings, pool)))


@asynccontextmanager
async def connect_pool(
    settings: Settings, *, migrate_embedded: bool = True, owner: bool = False
) -> AsyncIterator[Database]:
    """A pool on ``database_dsn``'s database."""
    async with database_dsn(settings, migrate_embedded=migrate_embedded, owner=owner) as dsn:
        pool = await create_pool(dsn, min_size=1, max_size=4)
        try:
            yield pool
        finally:
            await pool.close()


@asynccontextmanager
async def database_dsn(
    settings: Settings, *, migrate_embedded: bool = True, owner: bool = False
) -> AsyncIterator[str]:
    """The configured database, else the one a running `dueprocess dev` uses, else the
    embedded server in the data dir, started for this command and stopped after it.
    Embedded, commands connect as the application login; ``owner`` (migrations) as the
    server's owner."""
    server = None
    dsn = settings.database_url or (
        None if owner else running_stack(settings.data_dir).get("database_url"))
    if not dsn:
        require_dev_servers(database=True, temporal=False)
        server = EmbeddedPostgres(settings.data_dir.resolve())
        dsn = await asyncio.to_thread(server.start)
        if migrate_embedded:
            await migrate_as_owner(dsn)
        if not owner:
            dsn = server.app_dsn
    try:
        yield dsn
    finally:
        if server is not None:
            await asyncio.to_thread(server.release)


def store_for(pool: Database, settings: Settings) -> EventStore:
    """The event store as the configured workers use it (same key wrapping)."""
    return EventStore(pool, upcasters=CASE_UPCASTERS, key_wrap=settings.key_wrap())


def with_running_stack(settings: Settings) -> Settings:
    """``settings`` pointed at the stack a live `dueprocess dev` announced for the same data
    dir, so a second PostgreSQL and Temporal server never start on its files."""
    info = running_stack(settings.data_dir)
    if not info or (settings.database_url and settings.temporal_address):
        return settings
    update: dict[str, object] = {
        "database_url": settings.database_url or info.get("database_url"),
        "temporal_address": settings.temporal_address or info.get("temporal_address"),
    }
    if settings.temporal_address is None and settings.payload_key is None:
        # The announced server is the data dir's embedded one: so is its payload key.
        key = payload_key(None, data_dir=settings.data_dir, embedded=True)
        update["payload_key"] = None if key is None else base64.b64encode(key).decode()
    return settings.model_copy(update=update)
