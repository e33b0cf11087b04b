"""The case workflow on the time-skipping test server, with a real worker and the real
activities against a real PostgreSQL. One environment per test: time is global per
environment."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from dueprocess.activities.contracts import (
    APPEND_EVENTS,
    DISPATCH_NOTIFICATIONS,
    AppendInput,
    DispatchInput,
    DispatchResult,
)
from dueprocess.activities.notifications import NotificationActivities
from dueprocess.activities.store import EventStoreActivities
from dueprocess.devstack.demo import Story
from dueprocess.domain import case as dc
from dueprocess.domain.base import Personal
from dueprocess.domain.envelope import AppendResult, envelope_for
from dueprocess.services.client import CommandRejected, DueProcessClient, case_id_for
from dueprocess.services.notifications import FileSink
from dueprocess.services.policyfile import load_policy_file
from dueprocess.store.eventstore import EventStore
from dueprocess.workflows.case import CaseInput, CaseWorkflow, case_stream
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

QUEUE = "case-tests"  # the queue the shared worker fixture serves

async def _types(store: EventStore, case_id: str) -> list[str]:
    return [e.event_type for e in await store.read_stream(case_stream(case_id))]


async def _wait_until(env: WorkflowEnvironment, when: datetime) -> None:
    await env.sleep(max((when - await env.get_current_time()).total_seconds(), 0) + 60)


async def test_same_report_twice_is_one_case(story: Story, store: EventStore) -> None:
    first = await story.file()
    again = await story.file()
    assert first.case_id == again.case_id and again.events == []
    assert await _types(store, first.case_id) == ["ReportFiled"]


async def test_invalid_update_is_rejected_and_leaves_no_trace(
    story: Story, env: WorkflowEnvironment, store: EventStore
, record_history: Any) -> None:
    await story.file()
    await story.acknowledge_and_investigate()
    with pytest.raises(CommandRejected) as caught:
        await story.schedule_hearing(timedelta(days=15))  # no notice, no disclosure yet
    assert caught.value.error_type == "DueProcessViolation"
    assert caught.value.rule == "notice-before-hearing"
    history = await env.client.get_workflow_handle(story.case_id).fetch_history()
    accepted = [e for e in history.events
                if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED]
    assert len(accepted) == 5  # FileReport + the three accepted steps + AppointPanel
    assert "HearingScheduled" not in await _types(store, story.case_id)
    assert (await story.client.state(story.case_id)).stage == dc.CaseStage.UNDER_INVESTIGATION
    await record_history(env, story.case_id, "update_rejected")


async def test_missed_response_deadline_is_escalated(
    story: Story, env: WorkflowEnvironment, store: EventStore
, record_history: Any) -> None:
    await story.file()
    await story.acknowledge_and_investigate()
    await story.notify_and_disclose()
    [respond] = [d for d in await story.client.deadlines(story.case_id) if d.kind == "respond"]
    await _wait_until(env, respond.due_at)
    types = await _types(store, story.case_id)
    assert "DeadlineMissed" in types and "ResponseSubmitted" not in types
    await record_history(env, story.case_id, "response_deadline_missed")


async def test_interim_suspension_lapses_at_review_date(
    story: Story, env: WorkflowEnvironment, store: EventStore
, record_history: Any) -> None:
    await story.file()
    await story.acknowledge_and_investigate()
    await story.suspend_pending_hearing()
    state = await story.client.state(story.case_id)
    assert state.interim is not None
    await _wait_until(env, state.interim.review_by)
    assert "InterimSuspensionLapsed" in await _types(store, story.case_id)
    assert (await story.client.state(story.case_id)).interim is None
    await record_history(env, story.case_id, "interim_suspension_lapsed")


async def _decided(story: Story, env: WorkflowEnvironment, term: timedelta) -> None:
    await story.file()
    await story.acknowledge_and_investigate()
    await story.notify_and_disclose()
    await story.respond()
    hearing_at = await story.schedule_hearing(timedelta(days=15))
    await _wait_until(env, hearing_at)
    await story.hold_hearing_and_suspend(term)


async def test_appeal_window_closes_then_suspension_ends_into_reinstatement(
    story: Story, env: WorkflowEnvironment, store: EventStore
, record_history: Any) -> None:
    await _decided(story, env, timedelta(weeks=4))
    [window] = [d for d in await story.client.deadlines(story.case_id)
                if d.kind == "appeal_window"]
    await _wait_until(env, window.due_at)
    assert "AppealWindowClosed" in await _types(store, story.case_id)
    with pytest.raises(CommandRejected) as caught:
        await story.send(dc.LodgeAppeal(actor=story.respondent, authority="rulebook s.7.1",
                                        grounds=Personal(subject_id=story.p.respondent,
                                                            value="late")))
    assert caught.value.rule == "appeal-window"

    await story.send(dc.CarryOutSanction(actor=story.officer, authority="rulebook s.9"))
    [ends] = [d for d in await story.client.deadlines(story.case_id) if d.kind == "sanction_end"]
    await _wait_until(env, ends.due_at)
    types = await _types(store, story.case_id)
    assert types[-2:] == ["SanctionEnded", "MemberReinstated"]
    await record_history(env, story.case_id, "appeal_window_then_sanction_ends")


async def test_full_story_closes_the_workflow(
    story: Story, env: WorkflowEnvironment, store: EventStore
, record_history: Any) -> None:
    await _decided(story, env, timedelta(weeks=8))
    await story.appeal_allowed_and_reinstate()
    await story.close()
    final = await env.client.get_workflow_handle(story.case_id).result()
    assert final["stage"] == "closed" if isinstance(final, dict) else final.stage == "closed"
    types = await _types(store, story.case_id)
    assert types[0] == "ReportFiled" and types[-1] == "CaseClosed"
    assert "AppealDecided" in types and "MemberReinstated" in types
    notes = await store.read_stream(f"notifications-{story.case_id}")
    assert notes and all(n.event_type == "NotificationDispatched" for n in notes)
    assert len({n.event_id for n in notes}) == len(notes)
    await record_history(env, story.case_id, "full_story_appeal_allowed")

    with pytest.raises(CommandRejected) as refiled:  # a late duplicate of the intake
        await story.file()
    assert refiled.value.error_type == "CaseClosed"
    # A late, retried close reaches the case started again (it took corrections: see
    # test_closed_case_correction.py), where it is already on the record.
    late = await story.send(dc.CloseCase(actor=story.officer, authority="rulebook s.8"))
    assert late.events == []


def test_case_ids_hide_the_key() -> None:
    key = f"jane.doe@example.org-{uuid.uuid4()}"
    assert "jane" not in case_id_for(key) and case_id_for(key) == case_id_for(key)


async def test_long_cases_continue_as_new_with_their_state_and_version(
    env: WorkflowEnvironment, client: DueProcessClient, store: EventStore
) -> None:
    story = Story(client, load_policy_file(None), clock=env.get_current_time)
    report = await story.build_report()
    case_id = case_id_for(f"demo-{story.run}")
    handle = await env.client.start_workflow(
        CaseWorkflow.run, CaseInput(case_id=case_id, history_limit=40), id=case_id,
        task_queue=QUEUE)
    story.case_id = case_id
    await story.send(report)
    for _ in range(15):  # retried acknowledgements: no new events, but history grows
        await story.send(dc.AcknowledgeReport(actor=story.officer, authority="rulebook s.3.2"))
    await story.send(dc.TriageCase(actor=story.officer, authority="rulebook s.3.3",
                                   outcome=dc.TriageOutcome.INVESTIGATE, reasons="case to answer"))
    for _ in range(50):  # the hand-over happens in the workflow task after the update
        if (await handle.describe()).run_id != handle.result_run_id:
            break
        await asyncio.sleep(0.1)
    assert (await handle.describe()).run_id != handle.result_run_id  # a new run took over
    state = await client.state(case_id)
    assert state.stage == dc.CaseStage.UNDER_INVESTIGATION
    assert await _types(store, case_id) == ["ReportFiled", "ReportAcknowledged", "CaseTriaged"]


async def test_a_decision_accepted_while_handing_over_is_recorded_by_the_old_run(
    env: WorkflowEnvironment, store: EventStore, pool: asyncpg.Pool, tmp_path: Path,
    load_rulebook: Any, load_reporter_record: Any, load_respondent_record: Any,
) -> None:
    """Continue-as-new waits for in-flight decisions and dispatches together, so nothing
    recorded in the store is missing from the state the next run starts with."""
    delay = {"append": 0.0, "dispatch": 0.0}
    real = EventStoreActivities(store)
    notes = NotificationActivities(pool, store, FileSink(tmp_path), "t@localhost")

    @activity.defn(name=APPEND_EVENTS)
    async def slow_append(request: AppendInput) -> AppendResult:
        await asyncio.sleep(delay["append"])
        return await real.append_events(request)

    @activity.defn(name=DISPATCH_NOTIFICATIONS)
    async def slow_dispatch(request: DispatchInput) -> DispatchResult:
        await asyncio.sleep(delay["dispatch"])
        return await notes.dispatch_notifications(request)

    async with Worker(env.client, task_queue="slow", workflows=[CaseWorkflow],
                      activities=[slow_append, real.load_stream, slow_dispatch,
                                  load_rulebook, load_reporter_record, load_respondent_record]):
        client = DueProcessClient(env.client, "slow")
        story = Story(client, load_policy_file(None), clock=env.get_current_time)
        report = await story.build_report()
        story.case_id = case_id_for(f"demo-{story.run}")
        await env.client.start_workflow(
            CaseWorkflow.run, CaseInput(case_id=story.case_id, history_limit=22),
            id=story.case_id, task_queue="slow")
        await story.send(report)
        delay["dispatch"] = 2.0
        await story.send(dc.AcknowledgeReport(actor=story.officer, authority="rulebook s.3.2"))
        await asyncio.sleep(0.3)
        delay["append"] = 3.0  # the triage is accepted while the run waits to hand over
        await story.send(dc.TriageCase(actor=story.officer, authority="rulebook s.3.3",
                                       outcome=dc.TriageOutcome.INVESTIGATE, reasons="x"))
        delay.update(append=0.0, dispatch=0.0)
        await story.send(dc.AssignInvestigator(actor=story.officer, authority="rulebook s.3.4",
                                               investigator_id=story.p.investigator))
    assert await _types(store, story.case_id) == [
        "ReportFiled", "ReportAcknowledged", "CaseTriaged", "InvestigatorAssigned"]


async def test_an_outside_write_to_the_case_stream_is_reconciled_not_wedged(
    story: Story, store: EventStore
) -> None:
    await story.file()
    await story.send(dc.AcknowledgeReport(actor=story.officer, authority="rulebook s.3.2"))
    # Someone writes the case stream behind the workflow's back (a repair script, say).
    state = await story.client.state(story.case_id)
    triage = dc.TriageCase(actor=story.officer, authority="rulebook s.3.3",
                           outcome=dc.TriageOutcome.INVESTIGATE, reasons="manual repair")
    [event] = dc.decide(state, triage, await story.now())
    await store.append(case_stream(story.case_id), 2, [envelope_for(
        event, event_id=uuid.uuid4(), recorded_at=await story.now())])

    with pytest.raises(CommandRejected) as caught:
        await story.send(triage)
    assert caught.value.error_type == "ConcurrencyConflict"
    reloaded = await story.client.state(story.case_id)
    assert reloaded.stage == dc.CaseStage.UNDER_INVESTIGATION  # adopted from the store
    await story.send(dc.AssignInvestigator(actor=story.officer, authority="rulebook s.3.4",
                                           investigator_id=story.p.investigator))
    assert (await _types(store, story.case_id))[-1] == "InvestigatorAssigned"


async def test_a_data_collection_notice_not_given_in_time_is_recorded_as_missed(
    story: Story, env: WorkflowEnvironment, store: EventStore
) -> None:
    # GDPR Art 14: the evidence about the respondent came from the complainant and a
    # witness; nobody told the respondent, so the timer records the miss at the due time.
    await story.file()
    [due] = [d for d in await story.client.deadlines(story.case_id)
             if d.kind == dc.DeadlineKind.DATA_COLLECTION_NOTICE]
    await _wait_until(env, due.due_at)
    types = await _types(store, story.case_id)
    assert types.count("DataCollectionNoticeMissed") == 1
    state = await story.client.state(story.case_id)
    assert state.collection.missed == set(state.evidence)
    assert not [d for d in await story.client.deadlines(story.case_id)
                if d.kind == dc.DeadlineKind.DATA_COLLECTION_NOTICE]


async def test_a_data_collection_notice_given_in_time_stops_the_timer(
    story: Story, env: WorkflowEnvironment, store: EventStore
) -> None:
    await story.file()
    state = await story.client.state(story.case_id)
    assert state.respondent is not None
    await story.send(dc.GiveDataCollectionNotice(
        actor=story.officer, authority="rulebook s.4.1", subject_id=state.respondent.person_id,
        evidence_ids=sorted(state.evidence)))
    assert not [d for d in await story.client.deadlines(story.case_id)
                if d.kind == dc.DeadlineKind.DATA_COLLECTION_NOTICE]
    await _wait_until(env, (await story.now()) + timedelta(days=40))
    types = await _types(store, story.case_id)
    assert "DataCollectionNoticeGiven" in types and "DataCollectionNoticeMissed" not in types
