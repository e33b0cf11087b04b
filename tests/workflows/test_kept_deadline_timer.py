"""The next deadline's timer is kept across decisions that leave it where it was (patch
kept-deadline-timer, issue 14): no timer cancelled and started again per decision."""

from __future__ import annotations

from datetime import datetime

from dueprocess.devstack.demo import Story
from dueprocess.domain import case as dc
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

_TIMER_EVENTS = (EventType.EVENT_TYPE_TIMER_STARTED, EventType.EVENT_TYPE_TIMER_CANCELED)


async def _timer_events(env: WorkflowEnvironment, case_id: str) -> int:
    history = await env.client.get_workflow_handle(case_id).fetch_history()
    return sum(1 for e in history.events if e.event_type in _TIMER_EVENTS)


async def _next_due(story: Story) -> datetime:
    return min(d.due_at for d in await story.client.deadlines(story.case_id))


async def test_a_decision_leaving_the_next_deadline_keeps_its_timer(
    env: WorkflowEnvironment, story: Story
) -> None:
    # Given an acknowledged case waiting on a deadline
    await story.file()
    await story.send(dc.AcknowledgeReport(actor=story.officer, authority="rulebook s.3.2"))
    await story.send(dc.TriageCase(actor=story.officer, authority="rulebook s.3.3",
                                   outcome=dc.TriageOutcome.INVESTIGATE, reasons="x"))
    due, timers = await _next_due(story), await _timer_events(env, story.case_id)
    assert timers > 0
    # When a decision is recorded that leaves the next deadline where it was
    await story.send(dc.AssignInvestigator(actor=story.officer, authority="rulebook s.3.4",
                                           investigator_id=story.p.investigator))
    assert await _next_due(story) == due
    # Then its timer was neither cancelled nor started again
    assert await _timer_events(env, story.case_id) == timers
