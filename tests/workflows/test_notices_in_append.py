"""A decision's notices posted by the local append that records it (patch
notices-in-append, issue 14): no dispatch activity, and no workflow task for its
completion, when the worker posts inline; the dispatch activity, as before, for notices
the append could not post."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import asyncpg
from dueprocess.activities.contracts import DISPATCH_NOTIFICATIONS
from dueprocess.activities.notifications import NotificationActivities
from dueprocess.activities.store import EventStoreActivities
from dueprocess.devstack.demo import Story
from dueprocess.domain import case as dc
from dueprocess.domain.streams import notification_stream
from dueprocess.services.client import DueProcessClient
from dueprocess.services.notifications import FileSink
from dueprocess.services.policyfile import load_policy_file
from dueprocess.store.eventstore import EventStore
from dueprocess.workflows.case import CaseWorkflow, case_stream
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker


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


async def _acknowledged(env: WorkflowEnvironment, queue: str, sink: FileSink, pool: asyncpg.Pool,
                        store: EventStore, loaders: list[Any]) -> Story:
    notes = NotificationActivities(pool, store, sink, "t@localhost")
    appends = EventStoreActivities(store, notes.post)
    async with Worker(env.client, task_queue=queue, workflows=[CaseWorkflow],
                      activities=[appends.append_events, appends.load_stream,
                                  notes.dispatch_notifications, *loaders]):
        story = Story(DueProcessClient(env.client, queue), load_policy_file(None),
                      clock=env.get_current_time)
        await story.file()
        await story.send(dc.AcknowledgeReport(actor=story.officer, authority="rulebook s.3.2"))
        await story.send(dc.TriageCase(actor=story.officer, authority="rulebook s.3.3",
                                       outcome=dc.TriageOutcome.INVESTIGATE, reasons="x"))
        # Leaves the next deadline where it was: its timer is kept (workflows/case_timer)
        await story.send(dc.AssignInvestigator(actor=story.officer, authority="rulebook s.3.4",
                                               investigator_id=story.p.investigator))
        for _ in range(600):  # a dispatch activity may still be running: let it finish
            sent = await _sent_rows(pool, story.case_id)
            if sent and all(sent):
                break
            await asyncio.sleep(0.05)
    return story


async def _dispatch_activities(env: WorkflowEnvironment, case_id: str) -> int:
    history = await env.client.get_workflow_handle(case_id).fetch_history()
    return sum(1 for e in history.events
               if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
               and e.activity_task_scheduled_event_attributes.activity_type.name
               == DISPATCH_NOTIFICATIONS)


async def _sent_rows(pool: asyncpg.Pool, case_id: str) -> list[bool]:
    rows = await pool.fetch("SELECT sent_at IS NOT NULL AS sent FROM outbox WHERE case_id = $1",
                            case_id)
    return [r["sent"] for r in rows]


async def test_a_decisions_notices_are_posted_by_its_append(
    env: WorkflowEnvironment, store: EventStore, pool: asyncpg.Pool, tmp_path: Path,
    load_rulebook: Any, load_reporter_record: Any, load_respondent_record: Any,
    record_history: Any,
) -> None:
    # Given a worker whose append posts to a file outbox
    # When a report is filed, acknowledged, triaged and assigned (notices called for)
    story = await _acknowledged(env, "inline", FileSink(tmp_path / "outbox"), pool, store,
                                [load_rulebook, load_reporter_record, load_respondent_record])
    # Then the letters are written, recorded and marked sent
    letters = sorted((tmp_path / "outbox").glob("*.eml"))
    recorded = await store.read_stream(notification_stream(story.case_id))
    assert letters and len(recorded) == len(letters)
    assert await _sent_rows(pool, story.case_id) == [True] * len(letters)
    # And the workflow dispatched nothing with the activity
    assert await _dispatch_activities(env, story.case_id) == 0
    await record_history(env, story.case_id, "notices_in_append_kept_timer")


async def test_notices_the_append_could_not_post_go_to_the_dispatch_activity(
    env: WorkflowEnvironment, store: EventStore, pool: asyncpg.Pool, tmp_path: Path,
    load_rulebook: Any, load_reporter_record: Any, load_respondent_record: Any,
) -> None:
    # Given a worker whose append posts to a file outbox that fails its first letter
    sink = FailingOnce(tmp_path / "outbox")
    # When a report is filed, acknowledged, triaged and assigned
    story = await _acknowledged(env, "inline-failing", sink, pool, store,
                                [load_rulebook, load_reporter_record, load_respondent_record])
    # Then the decisions were recorded all the same
    recorded_case = await store.read_stream(case_stream(story.case_id))
    assert [e.event_type for e in recorded_case] == [
        "ReportFiled", "ReportAcknowledged", "CaseTriaged", "InvestigatorAssigned"]
    # And the failed event's notices were dispatched by the activity: every letter written,
    # recorded once and marked sent
    assert sink.failures == 1
    assert await _dispatch_activities(env, story.case_id) == 1
    letters = sorted((tmp_path / "outbox").glob("*.eml"))
    recorded = await store.read_stream(notification_stream(story.case_id))
    assert letters and len(recorded) == len(letters)
    assert len({e.event_id for e in recorded}) == len(recorded)
    assert await _sent_rows(pool, story.case_id) == [True] * len(letters)
