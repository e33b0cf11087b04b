"""Lifecycle paths whose histories are checked in for the replay test (test_replay.py).

Each test runs one path end to end and, with DUEPROCESS_RECORD_HISTORIES=1, saves its
history. The paths are the ones that changed since the first histories were recorded: a
report filed under the published rulebook, an intake the workflow refuses, and the appeal
path under the published rulebook."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from dueprocess.activities.contracts import APPEND_EVENTS, LOAD_RULEBOOK
from dueprocess.activities.notifications import NotificationActivities
from dueprocess.activities.rulebook import RulebookActivities
from dueprocess.activities.store import EventStoreActivities
from dueprocess.devstack.demo import Story
from dueprocess.domain import case as dc
from dueprocess.domain.policy import PolicyDocument
from dueprocess.services.client import CommandRejected, DueProcessClient, case_id_for
from dueprocess.services.notifications import FileSink
from dueprocess.services.policyfile import load_policy_file
from dueprocess.store.eventstore import EventStore
from dueprocess.workflows.case import CaseWorkflow, case_stream
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker


async def _types(store: EventStore, case_id: str) -> list[str]:
    return [e.event_type for e in await store.read_stream(case_stream(case_id))]


async def test_report_under_the_published_rulebook(
    story: Story, env: WorkflowEnvironment, store: EventStore, record_history: Any
) -> None:
    # Given the published sample rulebook; when a report is filed and taken up
    await story.file()
    await story.acknowledge_and_investigate()
    # Then the case is under investigation with the rulebook loaded by the workflow
    assert (await story.client.state(story.case_id)).stage == dc.CaseStage.UNDER_INVESTIGATION
    assert (await _types(store, story.case_id))[0] == "ReportFiled"
    await record_history(env, story.case_id, "published_rulebook_report")


async def test_rejected_intake(
    env: WorkflowEnvironment, pool: asyncpg.Pool, store: EventStore, tmp_path: Path,
    record_history: Any,
) -> None:
    async def nothing_published() -> PolicyDocument | None:
        return None

    # Given no published rulebook; when a report is filed
    notes = NotificationActivities(pool, store, FileSink(tmp_path), "t@localhost")
    activities = EventStoreActivities(store)
    async with Worker(env.client, task_queue="unpublished", workflows=[CaseWorkflow],
                      activities=[activities.append_events, activities.load_stream,
                                  notes.dispatch_notifications,
                                  RulebookActivities(nothing_published).load_rulebook]):
        story = Story(DueProcessClient(env.client, "unpublished"), load_policy_file(None),
                      clock=env.get_current_time)
        with pytest.raises(CommandRejected):
            await story.file()
    # Then the intake's workflow was ended with nothing recorded
    case_id = case_id_for(f"demo-{story.run}")  # the key Story files under
    described = await env.client.get_workflow_handle(case_id).describe()
    assert described.status == WorkflowExecutionStatus.TERMINATED
    assert await _types(store, case_id) == []
    await record_history(env, case_id, "intake_rejected")


async def test_appeal_path_under_the_published_rulebook(
    story: Story, env: WorkflowEnvironment, store: EventStore, record_history: Any
) -> None:
    # Given a decided case; when the appeal is allowed and the case closed
    await story.file()
    await story.acknowledge_and_investigate()
    await story.notify_and_disclose()
    await story.respond()
    hearing_at = await story.schedule_hearing(timedelta(days=15))
    await env.sleep((hearing_at - await env.get_current_time()).total_seconds() + 60)
    await story.hold_hearing_and_suspend(timedelta(weeks=8))
    await story.appeal_allowed_and_reinstate()
    await story.close()
    # Then the workflow completes closed, with the appeal on the record
    handle = env.client.get_workflow_handle_for(CaseWorkflow.run, story.case_id)
    assert (await handle.result()).stage == dc.CaseStage.CLOSED
    types = await _types(store, story.case_id)
    assert "AppealDecided" in types and types[-1] == "CaseClosed"
    await record_history(env, story.case_id, "appeal_path_published_rulebook")


async def test_decisions_are_appended_by_a_local_activity(
    story: Story, env: WorkflowEnvironment, store: EventStore, record_history: Any
) -> None:
    # Given a case; when it is filed, decided on and a deadline timer acts on it
    await story.file()
    await story.acknowledge_and_investigate()
    await story.notify_and_disclose()
    await env.sleep(timedelta(days=40).total_seconds())  # the response deadline passes
    # Then every append ran as a local activity (a marker in the history, no activity task
    # scheduled for it), and the events are in the store once each
    history = await env.client.get_workflow_handle(story.case_id).fetch_history()
    scheduled = [e.activity_task_scheduled_event_attributes.activity_type.name
                 for e in history.events if e.HasField("activity_task_scheduled_event_attributes")]
    markers = [e.marker_recorded_event_attributes.marker_name for e in history.events
               if e.HasField("marker_recorded_event_attributes")]
    assert APPEND_EVENTS not in scheduled and LOAD_RULEBOOK in scheduled
    assert "core_local_activity" in markers
    events = await store.read_stream(case_stream(story.case_id))
    assert "DeadlineMissed" in [e.event_type for e in events]
    assert len({e.event_id for e in events}) == len(events)
    await record_history(env, story.case_id, "local_append_activity")
