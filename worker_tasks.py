"""What runs beside the worker until shutdown: the projection loop (restarted should it
end), the checkpoint writer, the readiness checks behind /readyz and the notice relay
(with the sink and dispatch it posts through; also what `dueprocess relay` runs). Started
by ``worker.run_worker``; split out of worker.py, which re-exports these names.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.common import MetricMeter
from temporalio.runtime import Runtime as TemporalRuntime

from .activities.notifications import NotificationActivities
from .runtime import Runtime
from .services.mailboxes import parse_mailboxes
from .services.metrics import record_projection_applied
from .services.notice_relay import NoticeRelay
from .services.notifications import FileSink, Sink, SmtpSink
from .services.policyfile import load_policy_file
from .settings import Settings
from .store.checkpoints import CheckpointDir, CheckpointError, load_key, run_checkpoints
from .store.db import Database
from .store.eventstore import EventStore
from .store.projections import ProjectionRunner, default_projections

log = logging.getLogger("dueprocess")


def projection_runner(runtime: Runtime) -> ProjectionRunner:
    policy = load_policy_file(runtime.settings.policy_file)
    meter = metric_meter(runtime)
    return ProjectionRunner(runtime.pool, runtime.store, default_projections(policy),
                            on_error=runtime.settings.projection_on_error,
                            on_applied=lambda name, n: record_projection_applied(meter, name, n))


async def readiness(runtime: Runtime, stop: asyncio.Event) -> dict[str, str | None]:
    """What a worker's /readyz checks: Temporal answers, PostgreSQL answers, not shutting
    down."""
    problems = await relay_readiness(runtime.pool, stop)
    try:
        await runtime.client.workflow_service.get_system_info(
            GetSystemInfoRequest(), timeout=timedelta(seconds=2))
        problems["temporal"] = None
    except Exception as err:
        problems["temporal"] = f"{type(err).__name__}: {err}"
    return problems


async def relay_readiness(pool: Database, stop: asyncio.Event, relay: NoticeRelay | None = None,
                          ) -> dict[str, str | None]:
    """What a relay process's /readyz checks (it needs no Temporal): PostgreSQL answers,
    its sweeps go on (``relay``), not shutting down."""
    problems: dict[str, str | None] = {"shutdown": "draining" if stop.is_set() else None}
    if relay is not None:
        problems["sweeps"] = relay.stalled()
    try:
        async with asyncio.timeout(2), pool.acquire() as conn:
            await conn.fetchval("SELECT 1")
        problems["postgres"] = None
    except Exception as err:
        problems["postgres"] = f"{type(err).__name__}: {err}"
    return problems


def metric_meter(runtime: Runtime) -> MetricMeter:
    return (runtime.client.service_client.config.runtime or TemporalRuntime.default()).metric_meter


async def keep_projections(runtime: Runtime, stop: asyncio.Event, pause: float = 1.0) -> None:
    """The projection loop, restarted (and logged) should it ever end before ``stop``:
    a read model that silently stops moving is how case lists go stale unnoticed."""
    while not stop.is_set():
        try:
            await projection_runner(runtime).run(stop)
        except Exception:
            log.exception("projection loop crashed; restarting it")
        else:
            if not stop.is_set():
                log.error("projection loop ended before shutdown; restarting it")
        if not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=pause)


async def checkpoint_writer(runtime: Runtime, stop: asyncio.Event) -> None:
    """Sign a tree head of the log every DUEPROCESS_CHECKPOINT_INTERVAL seconds, with a
    key and into a directory outside the database (store/checkpoints.py)."""
    settings = runtime.settings
    if settings.checkpoint_interval <= 0:
        return
    if settings.checkpoint_key is None and not runtime.embedded_database:
        log.warning("DUEPROCESS_CHECKPOINT_KEY is not set: checkpoints are signed with a key "
                    "generated in the data dir")
    try:
        key = load_key(settings.checkpoint_key_path(), create=settings.checkpoint_key is None)
    except CheckpointError as err:
        log.error("checkpoints disabled: %s", err)
        return
    await run_checkpoints(runtime.pool, CheckpointDir(settings.checkpoint_directory()), key,
                          settings.checkpoint_interval, stop)


def sink_for(settings: Settings) -> Sink:
    if settings.smtp_url:
        return SmtpSink(settings.smtp_url)
    return FileSink(settings.data_dir.resolve() / "outbox")


def notices_for(runtime: Runtime, *, beside: bool | None = None,
                ) -> tuple[NotificationActivities, NoticeRelay | None]:
    """The dispatch activity, and the relay a decision's local append hands its notices
    to. DUEPROCESS_NOTICE_RELAY=worker (``beside``, the default): the relay posts them
    beside the decision when the post is a local mailbox (a file each); an SMTP server is
    never waited on nor held in a worker's memory: the case workflow dispatches those with
    the activity, which Temporal retries (workflows/case_dispatch.py). =separate: the
    relay only queues them, whatever the sink, for `dueprocess relay` (relay_for)."""
    settings = runtime.settings
    notifications = _notifications(settings, runtime.pool, runtime.store)
    beside = settings.notice_relay == "worker" if beside is None else beside
    if beside and not isinstance(notifications.sink, FileSink):
        return notifications, None
    return notifications, _relay(runtime.pool, runtime.store, notifications, beside)


def relay_for(settings: Settings, pool: Database, store: EventStore) -> NoticeRelay:
    """A relay that posts what workers queued: a relay process's (`dueprocess relay`), and
    a worker's sweep when its append hands no notices to a relay of its own (SMTP in the
    worker's mode), so rows queued before a switch of mode are still posted."""
    return _relay(pool, store, _notifications(settings, pool, store), beside=False)


def _relay(pool: Database, store: EventStore, notifications: NotificationActivities,
           beside: bool) -> NoticeRelay:
    return NoticeRelay(pool, store, notifications.dispatch, notifications.sink.channel,
                       beside=beside)


def _notifications(settings: Settings, pool: Database, store: EventStore,
                   ) -> NotificationActivities:
    return NotificationActivities(
        pool, store, sink_for(settings), settings.notify_from,
        parse_mailboxes(settings.staff_mailboxes or ""))  # staff role -> mailbox
