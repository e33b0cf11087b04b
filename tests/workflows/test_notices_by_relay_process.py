"""Notices posted by a relay process (DUEPROCESS_NOTICE_RELAY=separate, `dueprocess
relay`): the worker's append only queues a decision's notices, due at once, and wakes the
relay, which posts them composed from the record; the worker's own sweep takes only rows
a relay process left for longer than its grace (services/notice_relay.py)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import asyncpg
from dueprocess.domain.streams import case_stream, notification_stream
from dueprocess.runtime import Runtime
from dueprocess.services.notifications import FileSink
from dueprocess.settings import Settings
from dueprocess.store.eventstore import EventStore
from dueprocess.worker import notices_for, relay_for
from fixtures.notices import acknowledged, dispatch_activities, relayed, sent_rows
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

PATIENCE_SECONDS = 60  # for posts on a loaded machine; not a performance assertion
STOP_BOUND_SECONDS = 10  # a relay stops as a worker does (issue 14's bound)


async def _all_sent(pool: asyncpg.Pool, case_id: str) -> list[bool]:
    """Polled: the posts are another process's (or task's), seen only in the outbox."""
    for _ in range(PATIENCE_SECONDS * 20):
        if (sent := await sent_rows(pool, case_id)) and all(sent):
            return sent
        await asyncio.sleep(0.05)
    raise AssertionError(f"notices of {case_id} still unsent after {PATIENCE_SECONDS} s")


async def _terminate_listener(pool: asyncpg.Pool) -> int:
    """Ends the relay's LISTENing backend (a database restart, a failover, as it sees it)."""
    return int(await pool.fetchval(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid() "
        "AND (query LIKE 'LISTEN%' OR query = 'SELECT 1')"))


async def test_a_relay_process_posts_what_the_worker_only_queued(
    env: WorkflowEnvironment, store: EventStore, pool: asyncpg.Pool, db_dsn: str,
    tmp_path: Path, loaders: list[Any],
) -> None:
    # Given a worker whose append only queues the notices (a relay process posts them)
    sink = FileSink(tmp_path / "outbox")
    queuing, notes = relayed(pool, store, sink, beside=False)
    # When a report is filed, acknowledged, triaged and assigned (notices called for)
    story = await acknowledged(env, "separate", queuing, notes, store, loaders)
    # Then nothing is posted yet; the worker's own sweep leaves the young rows alone
    assert (rows := await sent_rows(pool, story.case_id)) and not any(rows)
    assert await queuing.sweep(queued_before=timedelta(seconds=60)) == 0
    # When a relay process runs (woken by queueing only: its own sweeps are far apart)
    relay, _ = relayed(pool, store, sink, beside=False)
    stop = asyncio.Event()
    running = asyncio.create_task(
        relay.run(stop, every=3600, listen=lambda: asyncpg.connect(db_dsn)))
    try:
        # Then it posts what was queued before it started
        sent = await _all_sent(pool, story.case_id)
        # And a decision queued while it runs wakes it
        later = await acknowledged(env, "separate-later", queuing, notes, store, loaders)
        assert await _all_sent(pool, later.case_id)
        # And after its listening connection is lost, it listens again and is woken again
        assert await _terminate_listener(pool) == 1
        again = await acknowledged(env, "separate-again", queuing, notes, store, loaders)
        assert await _all_sent(pool, again.case_id)
        assert relay.stalled() is None
    finally:
        stop.set()
        await asyncio.wait_for(running, STOP_BOUND_SECONDS)
    # And every letter was written and recorded once, each case's in the order decided;
    # no dispatch activity ran
    letters = list((tmp_path / "outbox").glob("*.eml"))
    recorded = [await store.read_stream(notification_stream(case.case_id))
                for case in (story, later, again)]
    assert len(letters) == sum(map(len, recorded)) == len(sent) * 3
    assert [[e.payload["caused_by"] for e in case] for case in recorded] == [
        sorted((e.payload["caused_by"] for e in case),
               key=[str(e.event_id) for e in case_events].index)
        for case, case_events in zip(recorded, [
            await store.read_stream(case_stream(c.case_id)) for c in (story, later, again)],
            strict=True)]
    assert await dispatch_activities(env, story.case_id) == 0


async def test_a_worker_that_only_queues_posts_what_was_left_past_the_grace(
    env: WorkflowEnvironment, store: EventStore, pool: asyncpg.Pool, tmp_path: Path,
    loaders: list[Any],
) -> None:
    # Given notices a worker only queued, no relay process running, and a grace of nothing
    sink = FileSink(tmp_path / "outbox")
    queuing, notes = relayed(pool, store, sink, timedelta(0), beside=False)
    story = await acknowledged(env, "separate-unrelayed", queuing, notes, store, loaders)
    # When the worker's own relay runs its sweeps
    stop = asyncio.Event()
    running = asyncio.create_task(queuing.run(stop, every=0.05))
    try:
        # Then it posts them itself
        assert await _all_sent(pool, story.case_id)
    finally:
        stop.set()
        await asyncio.wait_for(running, STOP_BOUND_SECONDS)


async def test_dueprocess_relay_posts_queued_notices_and_stops_on_sigterm(
    env: WorkflowEnvironment, store: EventStore, pool: asyncpg.Pool, db_dsn: str,
    tmp_path: Path, loaders: list[Any],
) -> None:
    # Given `dueprocess relay`, a real process, on the database and data dir of the worker
    with socket.socket() as probe:  # a free port for its health endpoint
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environ = {**os.environ, "DUEPROCESS_DATABASE_URL": db_dsn,
               "DUEPROCESS_DATA_DIR": str(tmp_path),
               "DUEPROCESS_HEALTH_ADDRESS": f"127.0.0.1:{port}"}
    log = (tmp_path / "relay.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "dueprocess", "relay", env=environ,
        stdout=asyncio.subprocess.PIPE, stderr=log)
    try:
        assert process.stdout is not None
        first = await asyncio.wait_for(process.stdout.readline(), PATIENCE_SECONDS)
        assert b"notice relay posting the file notices" in first
        # And it is ready (PostgreSQL answers, it sweeps; it needs no Temporal)
        ready = await asyncio.to_thread(
            urllib.request.urlopen, f"http://127.0.0.1:{port}/readyz", timeout=10)
        assert ready.status == 200 and json.loads(ready.read()) == {
            "status": "ready", "checks": ["postgres", "shutdown", "sweeps"]}
        # When a worker that only queues records decisions calling for notices
        queuing, notes = relayed(pool, store, FileSink(tmp_path / "outbox"), beside=False)
        story = await acknowledged(env, "separate-cli", queuing, notes, store, loaders)
        # Then the relay process posts them into the data dir's outbox
        sent = await _all_sent(pool, story.case_id)
        assert len(list((tmp_path / "outbox").glob("*.eml"))) == len(sent)
        # And on SIGTERM it exits, cleanly, within the bound
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), STOP_BOUND_SECONDS)
        assert process.returncode == 0, (tmp_path / "relay.log").read_text()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        log.close()


def test_the_setting_decides_who_posts_whatever_the_sink(
    store: EventStore, pool: asyncpg.Pool, tmp_path: Path,
) -> None:
    def worker(**env: str) -> Runtime:
        settings = Settings.from_env({"DUEPROCESS_DATA_DIR": str(tmp_path), **{
            f"DUEPROCESS_{k.upper()}": v for k, v in env.items()}})
        return Runtime(settings=settings, dsn="", temporal_address="", pool=pool,
                       store=store, client=cast(Client, None))

    smtp = "smtp://mail.example.org:25"
    # Given the default: the worker posts a file outbox's notices beside the decisions,
    # and leaves SMTP to the dispatch activity (no relay)
    _, beside = notices_for(worker())
    assert beside is not None and beside.beside and beside.channel == "file"
    assert notices_for(worker(smtp_url=smtp))[1] is None
    # When notices go to relay processes, the worker only queues them, whatever the sink
    for env in ({}, {"smtp_url": smtp}):
        _, queuing = notices_for(worker(notice_relay="separate", **env))
        assert queuing is not None and not queuing.beside
    # And `dueprocess relay` posts through the configured sink
    assert relay_for(worker(smtp_url=smtp).settings, pool, store).channel == "smtp"
    # And the demo, which waits for its own posts, posts beside whatever the setting
    _, demo = notices_for(worker(notice_relay="separate"), beside=True)
    assert demo is not None and demo.beside


def test_a_bad_sweep_interval_is_one_line_naming_the_option(tmp_path: Path) -> None:
    environ = {**os.environ, "DUEPROCESS_DATA_DIR": str(tmp_path),
               "DUEPROCESS_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/x"}
    result = subprocess.run([sys.executable, "-m", "dueprocess", "relay", "--every", "0",
                             "--json"], env=environ, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2
    (line,) = result.stdout.strip().splitlines()
    answer = json.loads(line)
    assert answer["field"] == "--every" and answer["rule"] == "range"
