"""A missed deadline for scheduling the hearing, on the time-skipping server with a real
worker: the durable timer fires and the escalation is on the record."""

from __future__ import annotations

from datetime import datetime

from dueprocess.devstack.demo import Story
from dueprocess.domain import case as dc
from dueprocess.store.eventstore import EventStore
from dueprocess.workflows.case import case_stream
from temporalio.testing import WorkflowEnvironment


async def _wait_until(env: WorkflowEnvironment, when: datetime) -> None:
    await env.sleep(max((when - await env.get_current_time()).total_seconds(), 0) + 60)


async def test_no_hearing_scheduled_after_notice_is_escalated_when_due(
    story: Story, env: WorkflowEnvironment, store: EventStore
) -> None:
    # Given a case with notice issued and answered, and no hearing scheduled
    await story.file()
    await story.acknowledge_and_investigate()
    await story.notify_and_disclose()
    await story.respond()
    [due] = [d for d in await story.client.deadlines(story.case_id)
             if d.kind == dc.DeadlineKind.SCHEDULE_HEARING]
    # When the scheduling period passes
    await _wait_until(env, due.due_at)
    # Then the workflow's timer recorded the miss, escalated to the case officer
    events = await store.read_stream(case_stream(story.case_id))
    missed = [e.payload for e in events if e.event_type == "DeadlineMissed"]
    assert [(m["kind"], m["escalated_to"]) for m in missed] == [
        ("schedule_hearing", "case_officer")]
    assert not [d for d in await story.client.deadlines(story.case_id)
                if d.kind == dc.DeadlineKind.SCHEDULE_HEARING]
