"""Composition root: the only place (with the CLI) that reads settings and creates resources.

``open_runtime`` brings up what the settings ask for: an explicit database URL and
Temporal address are used as they are; when absent, the embedded PostgreSQL and the
Temporal dev server are started in the data dir and stopped again on exit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.worker import Worker

from .activities.notifications import NotificationActivities
from .activities.store import EventStoreActivities
from .devstack.stack import DevTemporal, EmbeddedPostgres
from .services.codec import data_converter
from .services.notifications import FileSink, Sink, SmtpSink
from .services.policyfile import load_policy_file
from .settings import Settings
from .store.db import Database, create_pool
from .store.eventstore import EventStore
from .store.migrations import bundled_migrations, migrate
from .store.projections import ProjectionRunner, default_projections
from .workflows.case import CaseWorkflow

log = logging.getLogger("dueprocess")


@dataclass
class Runtime:
    settings: Settings
    dsn: str
    temporal_address: str
    client: Client
    pool: Database
    store: EventStore
    ui_url: str | None = None
    embedded_database: bool = False
    embedded_temporal: bool = False


class SchemaNotReady(RuntimeError):
    pass


def _setup_tracing() -> None:
    # A real provider so spans from the TracingInterceptor exist; exporters are the
    # deployment's choice (OTEL_* environment variables with an exporter package).
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        trace.set_tracer_provider(TracerProvider())


async def _start_database(settings: Settings, stack: AsyncExitStack) -> str:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    server = EmbeddedPostgres(settings.data_dir.resolve())
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(1) as pool:
        dsn = await loop.run_in_executor(pool, server.start)
    stack.callback(server.release)
    return dsn


async def _start_temporal(
    settings: Settings, stack: AsyncExitStack, ui: bool
) -> tuple[str, str | None]:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    server = DevTemporal(settings.data_dir.resolve(), namespace=settings.temporal_namespace, ui=ui)
    address = await server.start()
    stack.push_async_callback(server.stop)
    return address, server.ui_url


async def ensure_schema(pool: Database, *, apply: bool) -> None:
    async with pool.acquire() as conn:
        if apply:
            await migrate(conn)
            return
        exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
        applied = set() if not exists else {
            r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")
        }
        pending = [m.name for m in bundled_migrations() if m.version not in applied]
        if pending:
            raise SchemaNotReady(
                f"database schema is not up to date (pending: {', '.join(pending)}); "
                "run `dueprocess migrate` first"
            )


@asynccontextmanager
async def open_runtime(
    settings: Settings, *, ui: bool = False, auto_migrate: bool | None = None
) -> AsyncIterator[Runtime]:
    """Connect to (or start) PostgreSQL and Temporal. Embedded databases are migrated
    automatically; an explicit one only when ``auto_migrate`` is true."""
    _setup_tracing()
    async with AsyncExitStack() as stack:
        embedded_db = settings.database_url is None
        if not embedded_db and settings.key_encryption_keys is None:
            log.warning("DUEPROCESS_KEY_ENCRYPTION_KEYS is not set: new data subjects' keys "
                        "are stored in clear beside the data they protect")
        dsn = settings.database_url or await _start_database(settings, stack)
        pool = await create_pool(dsn, min_size=1, max_size=10)
        stack.push_async_callback(pool.close)
        await ensure_schema(pool, apply=embedded_db if auto_migrate is None else auto_migrate)

        ui_url = None
        embedded_temporal = settings.temporal_address is None
        if settings.temporal_address is None:
            address, ui_url = await _start_temporal(settings, stack, ui)
        else:
            address = settings.temporal_address
        client = await Client.connect(
            address,
            namespace=settings.temporal_namespace,
            data_converter=data_converter(settings.payload_key_bytes()),
            interceptors=[TracingInterceptor()],
        )
        yield Runtime(
            settings=settings, dsn=dsn, temporal_address=address, client=client, pool=pool,
            store=EventStore(pool, key_wrap=settings.key_wrap()), ui_url=ui_url,
            embedded_database=embedded_db, embedded_temporal=embedded_temporal,
        )


def sink_for(runtime: Runtime) -> Sink:
    settings = runtime.settings
    if settings.smtp_url:
        return SmtpSink(settings.smtp_url)
    return FileSink(settings.data_dir.resolve() / "outbox")


def activities_for(runtime: Runtime) -> list[Callable[..., Any]]:
    store = EventStoreActivities(runtime.store)
    notifications = NotificationActivities(
        runtime.pool, runtime.store, sink_for(runtime), runtime.settings.notify_from
    )
    return [store.append_events, store.load_stream, notifications.dispatch_notifications]


def projection_runner(runtime: Runtime) -> ProjectionRunner:
    policy = load_policy_file(runtime.settings.policy_file)
    return ProjectionRunner(runtime.pool, runtime.store, default_projections(policy))


def build_worker(runtime: Runtime) -> Worker:
    """Register every workflow and activity on the configured task queue."""
    return Worker(
        runtime.client,
        task_queue=runtime.settings.task_queue,
        workflows=[CaseWorkflow],
        activities=activities_for(runtime),
    )


async def run_worker(runtime: Runtime, stop: asyncio.Event) -> None:
    """Serve the task queue and keep the read models current until ``stop`` is set."""
    worker = build_worker(runtime)
    async with worker:
        projections = asyncio.create_task(projection_runner(runtime).run(stop))
        try:
            await stop.wait()
        finally:
            await projections
