"""A decision's notices taken by the local append that records it (patch
notices-in-append, issue 14): queued in the outbox by the statement that appends the
events (store/outbox.py), then posted beside the decision by the worker's notice relay
(services/notice_relay.py); no dispatch activity, and no workflow task for its
completion. Notices the relay could not post are posted by its sweep, composed again from
the recorded events."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import asyncpg
from dueprocess.activities.contracts import DispatchInput
from dueprocess.activities.notifications import NotificationActivities
from dueprocess.devstack.demo import Story
from dueprocess.domain.streams import notification_stream
from dueprocess.services.notice_relay import NoticeRelay
from dueprocess.services.notifications import FileSink
from dueprocess.store.eventstore import EventStore
from dueprocess.workflows.case import case_stream
from fixtures.notices import acknowledged, dispatch_activities, relayed, sent_rows
from temporalio.testing import WorkflowEnvironment


class FailingOnce(FileSink):
    """A file outbox whose first letter fails (a full disk, say), then recovers."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.failures = 0

    async def send(self, message: EmailMessage) -> None:
        if self.failures == 0:
            self.failures += 1
            raise OSError("no space left on device")
        await super().send(message)


async def test_a_decisions_notices_are_queued_by_its_append_and_posted_beside(
    env: WorkflowEnvironment, store: EventStore, pool: asyncpg.Pool, tmp_path: Path,
    loaders: list[Any],
    record_history: Any,
) -> None:
    # Given a worker whose append hands a file outbox's notices to the relay
    relay, notes = relayed(pool, store, FileSink(tmp_path / "outbox"))
    # When a report is filed, acknowledged, triaged and assigned (notices called for)
    story = await acknowledged(env, "inline", relay, notes, store,
                                loaders)
    # Then the letters are written, recorded and marked sent
    letters = sorted((tmp_path / "outbox").glob("*.eml"))
    recorded = await store.read_stream(notification_stream(story.case_id))
    assert letters and len(recorded) == len(letters)
    assert await sent_rows(pool, story.case_id) == [True] * len(letters)
    # And the workflow dispatched nothing with the activity, and no sweep has anything left
    assert await dispatch_activities(env, story.case_id) == 0
    assert await relayed(pool, store, FileSink(tmp_path / "outbox"),
                          timedelta(0))[0].sweep() == 0
    await record_history(env, story.case_id, "notices_in_append_kept_timer")


async def test_notices_the_relay_could_not_post_are_posted_by_its_sweep(
    env: WorkflowEnvironment, store: EventStore, pool: asyncpg.Pool, tmp_path: Path,
    loaders: list[Any],
) -> None:
    # Given a relay whose file outbox fails its first letter (due again at once: no grace)
    sink = FailingOnce(tmp_path / "outbox")
    relay, notes = relayed(pool, store, sink, grace=timedelta(0))
    # When a report is filed, acknowledged, triaged and assigned
    story = await acknowledged(env, "inline-failing", relay, notes, store,
                                loaders)
    # Then the decisions were recorded all the same, and one event's notices wait unsent
    recorded_case = await store.read_stream(case_stream(story.case_id))
    assert [e.event_type for e in recorded_case] == [
        "ReportFiled", "ReportAcknowledged", "CaseTriaged", "InvestigatorAssigned"]
    assert sink.failures == 1 and False in await sent_rows(pool, story.case_id)
    # When the relay sweeps
    assert await relay.sweep() == 1
    # Then every letter is written, recorded once and marked sent; no dispatch activity ran
    assert await dispatch_activities(env, story.case_id) == 0
    letters = sorted((tmp_path / "outbox").glob("*.eml"))
    recorded = await store.read_stream(notification_stream(story.case_id))
    assert letters and len(recorded) == len(letters)
    assert len({e.event_id for e in recorded}) == len(recorded)
    assert await sent_rows(pool, story.case_id) == [True] * len(letters)
    assert await relay.sweep() == 0


class Stopped(NoticeRelay):
    """A relay whose worker stops right after the append returned: queued, never posted.
    Keeps what it was handed, to compare with what a sweep composes again."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.handed: list[DispatchInput] = []

    def _post_soon(self, request: DispatchInput) -> asyncio.Task[None]:
        self.handed.append(request)
        return asyncio.ensure_future(asyncio.sleep(0))


async def _stopped_worker(env: WorkflowEnvironment, queue: str, pool: asyncpg.Pool,
                          store: EventStore, sink: FileSink, loaders: list[Any],
                          ) -> tuple[Story, Stopped, NotificationActivities]:
    """A case filed, acknowledged, triaged and assigned by a worker that stopped after
    queueing the notices, before posting them."""
    notes = NotificationActivities(pool, store, sink, "t@localhost")
    stopped = Stopped(pool, store, notes.dispatch, sink.channel, grace=timedelta(0))
    return await acknowledged(env, queue, stopped, notes, store, loaders), stopped, notes


async def test_a_sweep_posts_what_a_stopped_worker_queued_composed_as_the_workflow_did(
    env: WorkflowEnvironment, store: EventStore, pool: asyncpg.Pool, tmp_path: Path,
    loaders: list[Any],
) -> None:
    # Given decisions whose worker stopped after queueing their notices, before posting
    sink = FileSink(tmp_path / "outbox")
    story, stopped, _ = await _stopped_worker(env, "stopped", pool, store, sink, loaders)
    assert stopped.handed and not list((tmp_path / "outbox").glob("*.eml"))
    # When another worker's relay sweeps
    relay, _ = relayed(pool, store, sink, timedelta(0))
    assert await relay.sweep() == len(stopped.handed)
    # Then each event's notices were composed again from the record exactly as the
    # workflow composed them, and every letter is written, recorded and marked sent
    for handed in stopped.handed:
        assert await relay.composed(story.case_id, handed.caused_by) == handed
    letters = sorted((tmp_path / "outbox").glob("*.eml"))
    assert len(letters) == sum(len(h.notifications) for h in stopped.handed)
    assert len(await store.read_stream(notification_stream(story.case_id))) == len(letters)
    assert await sent_rows(pool, story.case_id) == [True] * len(letters)


async def test_the_relay_gives_up_on_a_notice_as_the_dispatch_activity_does(
    env: WorkflowEnvironment, store: EventStore, pool: asyncpg.Pool, tmp_path: Path,
    loaders: list[Any],
) -> None:
    # Given notices queued by a worker that stopped, and a relay that gives up at once
    sink = FileSink(tmp_path / "outbox")
    story, _, notes = await _stopped_worker(env, "given-up", pool, store, sink, loaders)
    relay = NoticeRelay(pool, store, notes.dispatch, sink.channel, grace=timedelta(0),
                        give_up=timedelta(0))
    # When it sweeps, twice
    assert await relay.sweep() == 0
    assert await relay.sweep() == 0
    # Then nothing was posted and the rows stay unsent, released for operators
    assert not list((tmp_path / "outbox").glob("*.eml"))
    rows = await pool.fetch("SELECT sent_at, next_attempt_at, attempts FROM outbox "
                            "WHERE case_id = $1", story.case_id)
    assert rows and all(r["sent_at"] is None and r["next_attempt_at"] is None
                        and r["attempts"] == 1 for r in rows)


async def test_a_running_relay_sweeps_until_stopped(
    env: WorkflowEnvironment, store: EventStore, pool: asyncpg.Pool, tmp_path: Path,
    loaders: list[Any],
) -> None:
    # Given notices queued by a worker that stopped before posting them
    sink = FileSink(tmp_path / "outbox")
    story, _, _ = await _stopped_worker(env, "swept", pool, store, sink, loaders)
    # When another worker's relay runs
    relay, _ = relayed(pool, store, sink, timedelta(0))
    stop = asyncio.Event()
    running = asyncio.create_task(relay.run(stop, every=0.05))
    for _ in range(200):
        if (sent := await sent_rows(pool, story.case_id)) and all(sent):
            break
        await asyncio.sleep(0.05)
    # Then it posts them, and ends when told to
    stop.set()
    await asyncio.wait_for(running, 5)
    assert await sent_rows(pool, story.case_id) == [True] * len(
        list((tmp_path / "outbox").glob("*.eml")))
