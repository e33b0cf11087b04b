"""The local append activity keeps the exactly-once append: an attempt that wrote the
batch but failed before reporting it is retried, and the retry finds the stored batch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg
from dueprocess.activities.contracts import APPEND_EVENTS, AppendInput
from dueprocess.activities.notifications import NotificationActivities
from dueprocess.activities.store import EventStoreActivities
from dueprocess.devstack.demo import Story
from dueprocess.domain import case as dc
from dueprocess.domain.envelope import AppendResult
from dueprocess.services.client import DueProcessClient
from dueprocess.services.notifications import FileSink
from dueprocess.services.policyfile import load_policy_file
from dueprocess.store.eventstore import EventStore
from dueprocess.workflows.case import CaseWorkflow, case_stream
from temporalio import activity
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker


async def test_an_append_lost_after_writing_is_retried_and_recorded_once(
    env: WorkflowEnvironment, store: EventStore, pool: asyncpg.Pool, tmp_path: Path,
    load_rulebook: Any,
) -> None:
    real = EventStoreActivities(store)
    attempts: dict[str, int] = {}

    @activity.defn(name=APPEND_EVENTS)
    async def append_then_lose_the_reply(request: AppendInput) -> AppendResult:
        result = await real.append_events(request)  # written...
        batch = str(request.events[0].event_id)
        attempts[batch] = attempts.get(batch, 0) + 1
        if attempts[batch] == 1:  # ...but the worker never hears back, the first time
            raise ConnectionResetError("connection lost after the commit")
        return result

    notes = NotificationActivities(pool, store, FileSink(tmp_path), "t@localhost")
    async with Worker(env.client, task_queue="lossy", workflows=[CaseWorkflow],
                      activities=[append_then_lose_the_reply, real.load_stream,
                                  notes.dispatch_notifications, load_rulebook]):
        story = Story(DueProcessClient(env.client, "lossy"), load_policy_file(None),
                      clock=env.get_current_time)
        # Given a report filed and acknowledged, each append's first attempt lost
        await story.file()
        await story.send(dc.AcknowledgeReport(actor=story.officer, authority="rulebook s.3.2"))
        state = await story.client.state(story.case_id)
    # Then each batch was attempted twice and recorded once, with the personal data sealed
    # identically both times (the retry matched the stored bytes)
    assert sorted(attempts.values()) == [2, 2]
    events = await store.read_stream(case_stream(story.case_id))
    assert [e.event_type for e in events] == ["ReportFiled", "ReportAcknowledged"]
    assert state.stage == dc.CaseStage.ACKNOWLEDGED
