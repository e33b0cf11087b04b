"""GDPR storage limitation on the time-skipping server: a closed case starts its retention
timer; when it fires, the people whose every record is past retention are shredded
through the one erasure mechanism (SubjectErased), and anyone still named in an open
case is kept, with the reason."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from dueprocess.activities.notifications import NotificationActivities
from dueprocess.activities.reporter import ReporterActivities
from dueprocess.activities.respondent import RespondentActivities
from dueprocess.activities.retention import RetentionActivities
from dueprocess.activities.rulebook import RulebookActivities
from dueprocess.activities.store import EventStoreActivities
from dueprocess.domain import case as dc
from dueprocess.domain.base import Actor
from dueprocess.domain.case.state import state_from_payloads
from dueprocess.domain.envelope import envelope_for
from dueprocess.domain.policy import PolicyDocument
from dueprocess.domain.records import SubjectErased
from dueprocess.domain.retention import RetentionResult
from dueprocess.domain.rulebook import POLICY_ADMIN_ROLE
from dueprocess.domain.streams import case_stream, subject_stream
from dueprocess.services.client import DueProcessClient
from dueprocess.services.importer import ImportService, retain_in_workflow
from dueprocess.services.notifications import FileSink
from dueprocess.services.retention_sweep import sweep_retention
from dueprocess.services.rulebook import RulebookService
from dueprocess.store.eventstore import EventStore
from dueprocess.store.projections import ProjectionRunner, default_projections
from dueprocess.workflows.case import CaseWorkflow
from dueprocess.workflows.retention import RetentionWorkflow, retention_workflow_id
from fixtures import reporter_examples as rx
from fixtures.imports import CASE_ID, IMPORTER, MEMBER_ID, legacy_policy, sample_document
from fixtures.retention import PERIOD, SHORT, short_retention
from fixtures.skipped_time import result_after
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

QUEUE = "retention-tests"
OFFICER = Actor(id="staff-amira", role="case_officer")


def worker(env: WorkflowEnvironment, pool: asyncpg.Pool, store: EventStore, tmp_path: Path,
           queue: str, workflows: list[type]) -> Worker:
    async def rulebook() -> PolicyDocument:
        return short_retention()

    outbox = FileSink(tmp_path / "outbox")
    notes = NotificationActivities(pool, store, outbox, "test@localhost")
    events = EventStoreActivities(store)
    return Worker(
        env.client, task_queue=queue, workflows=workflows,
        activities=[events.append_events, events.load_stream, notes.dispatch_notifications,
                    RulebookActivities(rulebook).load_rulebook,
                    ReporterActivities(pool, store).load_reporter_record,
                    RespondentActivities(pool, store).load_respondent_record,
                    RetentionActivities(store, pool, [outbox]).shred_for_retention])


@pytest.fixture
async def client(env: WorkflowEnvironment, pool: asyncpg.Pool, store: EventStore,
                 tmp_path: Path) -> AsyncIterator[DueProcessClient]:
    async with worker(env, pool, store, tmp_path, QUEUE, [CaseWorkflow, RetentionWorkflow]):
        yield DueProcessClient(env.client, QUEUE)


async def dismissed_and_closed(client: DueProcessClient, by: str, against: str) -> str:
    result = await client.file_report(rx.member_report(by, against),
                                      idempotency_key=f"ret-{uuid.uuid4().hex}")
    await client.send(result.case_id, dc.TriageCase(
        actor=OFFICER, authority="rulebook s.3", outcome=dc.TriageOutcome.DISMISS,
        reasons="Out of scope.", dismissal_reason=dc.DismissalReason.NO_CASE_TO_ANSWER))
    await client.send(result.case_id, dc.CloseCase(actor=OFFICER, authority="rulebook s.3"))
    return result.case_id


async def erased(store: EventStore, person: str) -> bool:
    return any(r.event_type == SubjectErased.__name__
               for r in await store.read_stream(subject_stream(person)))


async def test_the_retention_timer_shreds_who_no_record_still_needs(
        env: WorkflowEnvironment, client: DueProcessClient, store: EventStore,
        record_history: Any) -> None:
    run = uuid.uuid4().hex[:6]
    reporter, respondent, other = f"m-a-{run}", f"m-b-{run}", f"m-c-{run}"
    # given a case dismissed and closed, and another case naming the respondent, still open
    closed = await dismissed_and_closed(client, reporter, respondent)
    report = rx.member_report(other, respondent).model_copy(update={"policy": rx.policy()})
    opened = dc.decide(dc.CaseState.empty(f"open-{run}"), report, await env.get_current_time())
    await store.append(f"case-open-{run}", 0, [  # on the record; its workflow is not needed
        envelope_for(e, event_id=uuid.uuid4(), recorded_at=e.effective_at,
                     correlation_id=run) for e in opened])
    # when the case's workflow has completed at closure and the retention period passes,
    # the case's durable timer fires
    await env.client.get_workflow_handle(closed).result()
    await record_history(env, closed, "closed_case_starts_retention_timer")
    handle = env.client.get_workflow_handle(retention_workflow_id(closed),
                                            result_type=RetentionResult)
    result = await result_after(env, handle, PERIOD + timedelta(days=1))
    # then the reporter, named by no other record, is shredded (recorded as SubjectErased)
    assert result.shredded == [reporter] and await erased(store, reporter)
    # and the respondent, named in an open case, is kept, and says why
    assert "open" in result.kept[respondent] and not await erased(store, respondent)
    # and the shredded reporter's personal data in the case reads back erased
    filed = (await store.read_stream(f"case-{closed}"))[0]
    assert filed.payload["complainant"]["name"]["value"] != "Ada Member"


async def test_a_case_closed_on_another_queue_is_shredded_by_the_main_worker(
        env: WorkflowEnvironment, client: DueProcessClient, pool: asyncpg.Pool,
        store: EventStore, tmp_path: Path) -> None:
    run = uuid.uuid4().hex[:6]
    reporter, respondent = f"m-a-{run}", f"m-b-{run}"
    # given a case filed, dismissed and closed by a worker on a queue of its own (as
    # `dueprocess demo` runs one), whose client names the main queue for retention
    demo = DueProcessClient(env.client, "demo-queue", retention_queue=QUEUE)
    async with worker(env, pool, store, tmp_path, "demo-queue", [CaseWorkflow]):
        closed = await dismissed_and_closed(demo, reporter, respondent)
        await env.client.get_workflow_handle(closed).result()
    # when the demo's worker is gone and the retention period passes
    handle = env.client.get_workflow_handle(retention_workflow_id(closed),
                                            result_type=RetentionResult)
    assert (await handle.describe()).task_queue == QUEUE
    result = await result_after(env, handle, PERIOD + timedelta(days=1))
    # then the main worker (the `client` fixture's, on QUEUE) shreds its people
    assert sorted(result.shredded) == sorted([reporter, respondent])
    assert await erased(store, reporter) and await erased(store, respondent)


async def test_an_imported_closed_case_starts_its_retention_timer(
        env: WorkflowEnvironment, client: DueProcessClient, pool: asyncpg.Pool,
        store: EventStore) -> None:
    # given a published rulebook in force in 2016 that sets retention periods
    rulebook = RulebookService(store)
    legacy = legacy_policy()
    await rulebook.publish(legacy.model_copy(update={"versions": [
        v.model_copy(update={"retention": SHORT}) for v in legacy.versions]}),
        Actor(id="admin-1", role=POLICY_ADMIN_ROLE), "constitution")
    service = ImportService(pool, store, rulebook.current, retain=retain_in_workflow(client))
    # when the 2016 case, closed long ago, is imported
    now = await env.get_current_time()
    report = await service.run(sample_document(), IMPORTER, now, import_id="imp-retained")
    # then its retention timer is started, due the period after its closure, as a case
    # closing in its workflow starts it
    [case] = report.cases
    closed = await client_state(store)
    assert case.closed and case.retained and report.not_retained == []
    assert closed.closed_at is not None and case.retention_until == closed.closed_at + PERIOD
    handle = env.client.get_workflow_handle(retention_workflow_id(CASE_ID),
                                            result_type=RetentionResult)
    assert (await handle.describe()).task_queue == QUEUE
    # and, the period long over, it shreds at once whoever no other record needs: the
    # complainant and the witness; the respondent, a current member, is kept
    result = await handle.result()
    assert sorted(result.shredded) == ["m-100", "m-300"] and await erased(store, "m-100")
    assert MEMBER_ID in result.kept and not await erased(store, MEMBER_ID)
    # and the same import again writes nothing and keeps the timer that ran
    again = await service.run(sample_document(), IMPORTER, now, import_id="imp-retained")
    assert again.already_imported and again.cases[0].retained and again.not_retained == []


async def client_state(store: EventStore) -> dc.CaseState:
    records = await store.read_stream(case_stream(CASE_ID))
    return state_from_payloads(CASE_ID, [r.payload for r in records])


async def test_the_sweep_starts_the_timer_of_a_closed_case_that_has_none(
        env: WorkflowEnvironment, client: DueProcessClient, pool: asyncpg.Pool,
        store: EventStore) -> None:
    run = uuid.uuid4().hex[:6]
    reporter, respondent, case_id = f"m-a-{run}", f"m-b-{run}", f"swept-{run}"
    # given a case dismissed and closed 90 days ago with no retention timer (as one closed
    # before the retention-timer patch), on the case list
    at = await env.get_current_time() - timedelta(days=90)
    steps: list[tuple[dc.CaseCommand, Any]] = [
        (rx.member_report(reporter, respondent).model_copy(
            update={"policy": short_retention()}), at),
        (dc.TriageCase(actor=OFFICER, authority="rulebook s.3", outcome=dc.TriageOutcome.DISMISS,
                       reasons="Out of scope.",
                       dismissal_reason=dc.DismissalReason.NO_CASE_TO_ANSWER),
         at + timedelta(hours=1)),
        (dc.CloseCase(actor=OFFICER, authority="rulebook s.3"), at + timedelta(hours=2))]
    state, envelopes = dc.CaseState.empty(case_id), []
    for command, now in steps:
        for event in dc.decide(state, command, now):
            state = dc.evolve(state, event)
            envelopes.append(envelope_for(event, event_id=uuid.uuid4(), recorded_at=now))
    await store.append(case_stream(case_id), 0, envelopes)
    await ProjectionRunner(pool, store, default_projections(short_retention())).catch_up()
    # when the retention sweep runs (a dry run first: it starts nothing)
    dry = await sweep_retention(pool, store, None)
    assert state.closed_at is not None
    assert dry.dry_run and dry.timed[case_id] == state.closed_at + PERIOD
    report = await sweep_retention(pool, store, client.start_retention)
    # then the case's timer runs, due the period after its closure: long over, it shreds
    assert report.timed[case_id] == dry.timed[case_id]
    handle = env.client.get_workflow_handle(retention_workflow_id(case_id),
                                            result_type=RetentionResult)
    result = await handle.result()
    assert sorted(result.shredded) == sorted([reporter, respondent])
    # and sweeping again keeps the timer that ran: nothing is shredded twice
    ran = (await handle.describe()).run_id
    again = await sweep_retention(pool, store, client.start_retention)
    assert case_id in again.timed and (await handle.describe()).run_id == ran
