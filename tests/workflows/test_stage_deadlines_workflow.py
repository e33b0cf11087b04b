"""A deadline for every stage (issue 15), on the time-skipping server with a real worker:
left in a stage past its period, the case's durable timer records the miss, escalated to
the case officer, once."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import asyncpg
from dueprocess.devstack.demo import RB, Story
from dueprocess.domain import case as dc
from dueprocess.domain.base import Personal
from dueprocess.domain.case.values import TriageOutcome
from dueprocess.domain.policy import MISSED_KINDS, PolicyDocument
from dueprocess.domain.streams import notification_stream
from dueprocess.services.client import DueProcessClient
from dueprocess.services.policyfile import load_policy_file
from dueprocess.services.statistics import overdue_by_stage
from dueprocess.store.eventstore import EventStore
from dueprocess.store.projections import ProjectionRunner, default_projections
from dueprocess.workflows.case import case_stream
from temporalio.testing import WorkflowEnvironment

QUEUE = "case-tests"  # the queue the shared worker fixture serves


def story_rulebook() -> PolicyDocument:
    return load_policy_file(None)  # the published sample the story's cases are filed under


async def _wait_until(env: WorkflowEnvironment, when: datetime) -> None:
    await env.sleep(max((when - await env.get_current_time()).total_seconds(), 0) + 60)


async def _miss_when_due(story: Story, env: WorkflowEnvironment, store: EventStore,
                         kind: dc.DeadlineKind) -> None:
    """When the stage's period passes, then its miss alone of its kind is on the record."""
    [due] = [d for d in await story.client.deadlines(story.case_id) if d.kind == kind]
    await _wait_until(env, due.due_at)
    events = await store.read_stream(case_stream(story.case_id))
    missed = [e.payload for e in events
              if e.event_type == "DeadlineMissed" and e.payload["kind"] == kind.value]
    assert [(datetime.fromisoformat(m["due_at"]), m["escalated_to"]) for m in missed] == [
        (due.due_at, "case_officer")]
    # with the next step the rulebook names for the kind (issue 15)
    deadlines = story_rulebook().versions[-1].deadlines
    then = {str(k): deadlines.escalation(k) for k in MISSED_KINDS}[kind.value]
    assert [m["next_step"] for m in missed] == [then.next_step]
    assert kind not in {d.kind for d in await story.client.deadlines(story.case_id)}


async def test_an_acknowledged_report_left_untriaged_is_escalated(
    story: Story, env: WorkflowEnvironment, store: EventStore
) -> None:
    # Given a report acknowledged and not triaged
    await story.file()
    await story.send(dc.AcknowledgeReport(actor=story.officer, authority=f"{RB} s.3.2"))
    await _miss_when_due(story, env, store, dc.DeadlineKind.TRIAGE)


async def test_a_case_under_investigation_without_notice_is_escalated(
    story: Story, env: WorkflowEnvironment, store: EventStore
) -> None:
    # Given a case triaged for investigation and no notice issued
    await story.file()
    await story.acknowledge_and_investigate()
    await _miss_when_due(story, env, store, dc.DeadlineKind.INVESTIGATION)


async def test_a_hearing_held_without_a_decision_is_escalated(
    story: Story, env: WorkflowEnvironment, store: EventStore
) -> None:
    # Given a hearing held and no decision recorded
    await story.file()
    await story.acknowledge_and_investigate()
    await story.notify_and_disclose()
    await story.respond()
    hearing_at = await story.schedule_hearing(timedelta(days=15))
    await _wait_until(env, hearing_at)
    await story.send(dc.RecordHearingHeld(
        actor=story.chair, authority=f"{RB} s.6.3",
        attendees=[*story.p.panel, story.p.respondent], respondent_attended=True))
    await _miss_when_due(story, env, store, dc.DeadlineKind.DECIDE_AFTER_HEARING)


async def test_a_lodged_appeal_left_undecided_is_escalated(
    story: Story, env: WorkflowEnvironment, store: EventStore, record_history: Any
) -> None:
    # Given a decision appealed and the appeal not decided
    await story.file()
    await story.acknowledge_and_investigate()
    await story.notify_and_disclose()
    await story.respond()
    hearing_at = await story.schedule_hearing(timedelta(days=15))
    await _wait_until(env, hearing_at)
    await story.hold_hearing_and_suspend()
    await story.send(dc.LodgeAppeal(
        actor=story.respondent, authority=f"{RB} s.7.1",
        grounds=Personal(subject_id=story.p.respondent, value="The panel ignored the sketch.")))
    await _miss_when_due(story, env, store, dc.DeadlineKind.DECIDE_APPEAL)
    # Recorded after the stage deadlines (patch "stage-deadlines"): every stage's timer set
    # and met along the way, the appeal's fired.
    await record_history(env, story.case_id, "appeal_decision_deadline_missed")


async def test_an_escalated_case_stays_overdue_until_its_stage_is_met(
    story: Story, env: WorkflowEnvironment, store: EventStore, pool: asyncpg.Pool,
    record_history: Any,
) -> None:
    # Given a report acknowledged and left untriaged until its timer recorded the miss
    await story.file()
    await story.send(dc.AcknowledgeReport(actor=story.officer, authority=f"{RB} s.3.2"))
    [due] = [d.due_at for d in await story.client.deadlines(story.case_id)
             if d.kind == dc.DeadlineKind.TRIAGE]
    await _miss_when_due(story, env, store, dc.DeadlineKind.TRIAGE)
    runner = ProjectionRunner(pool, store, default_projections(load_policy_file(None)))
    await runner.catch_up()
    listing = DueProcessClient(env.client, QUEUE, pool)
    # When the case list is read after the escalation
    now = await env.get_current_time()
    [row] = (await listing.cases(overdue=True, as_of=now)).items
    # Then the case is still overdue, since the missed triage deadline
    assert (row.case_id, row.overdue, row.overdue_since) == (story.case_id, True, due)
    # and the case officer was sent a staff notice of the escalation (no person named)
    sent = [e.payload for e in await store.read_stream(notification_stream(story.case_id))
            if e.payload["subject"].endswith("deadline missed, escalated")]
    assert [(n["recipient_role"], n["recipient_subject_id"], n["address"]) for n in sent] == [
        ("case_officer", "role:case_officer", None)]
    assert (await overdue_by_stage(pool, now)).get(str(dc.CaseStage.ACKNOWLEDGED)) == 1
    # And once it is triaged (the step it waited for), it is overdue no more
    await story.send(dc.TriageCase(actor=story.officer, authority=f"{RB} s.3.3",
                                   outcome=TriageOutcome.INVESTIGATE, reasons="A case to answer."))
    await runner.catch_up()
    now = await env.get_current_time()
    [row] = (await listing.cases(as_of=now)).items
    assert (row.overdue, row.overdue_since) == (False, None)
    assert (await listing.cases(overdue=True, as_of=now)).items == []
    await record_history(env, story.case_id, "triage_missed_escalation_notice")
