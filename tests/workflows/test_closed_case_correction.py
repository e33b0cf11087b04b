"""Corrections of a closed case (issue 15) on the time-skipping server, with a real worker
and PostgreSQL: the case's workflow completed at closure, so a correction starts it again,
rebuilt from the event store; the correction is recorded once on the same hash chain, the
apology is dispatched, the audit links the corrected report to its correction, and the run
completes again once idle. What a closed case does not take is refused, naming the rule."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from dueprocess.activities.contracts import DISPATCH_NOTIFICATIONS, DispatchInput, DispatchResult
from dueprocess.activities.notifications import NotificationActivities
from dueprocess.activities.retention import RetentionActivities
from dueprocess.activities.store import EventStoreActivities
from dueprocess.domain import case as dc
from dueprocess.domain.audit import audit_case
from dueprocess.domain.base import personal
from dueprocess.domain.case.values import ContactDirection, ContactKind
from dueprocess.domain.envelope import RecordedEvent
from dueprocess.domain.streams import notification_stream
from dueprocess.services.client import CommandRejected, DueProcessClient
from dueprocess.services.notifications import FileSink
from dueprocess.store.eventstore import EventStore
from dueprocess.store.verify import verify_store
from dueprocess.workflows.case import CaseWorkflow, case_stream
from dueprocess.workflows.case_contracts import CLOSED_CASE_IDLE
from dueprocess.workflows.retention import RetentionWorkflow
from fixtures import closed_cases as cc
from fixtures import reporter_examples as rx
from fixtures.skipped_time import result_after
from temporalio import activity
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

QUEUE = "closed-case-tests"


def case_worker(env: WorkflowEnvironment, pool: asyncpg.Pool, store: EventStore,
                tmp_path: Path, rulebook: list[Any], dispatch: Any = None) -> Worker:
    """The shared worker's workflows and activities, with the retention timer the closure
    starts registered too (a workflow task failing for want of it would keep the test
    server's clock still); ``dispatch``: another notification activity."""
    outbox = FileSink(tmp_path / "outbox")
    notes = NotificationActivities(pool, store, outbox, "test@localhost")
    events = EventStoreActivities(store)
    return Worker(
        env.client, task_queue=QUEUE, workflows=[CaseWorkflow, RetentionWorkflow],
        activities=[events.append_events, events.load_stream,
                    dispatch or notes.dispatch_notifications, *rulebook,
                    RetentionActivities(store, pool, [outbox]).shred_for_retention])


@pytest.fixture
async def client(env: WorkflowEnvironment, pool: asyncpg.Pool, store: EventStore,
                 tmp_path: Path, load_rulebook: Any, load_reporter_record: Any,
                 load_respondent_record: Any) -> AsyncIterator[DueProcessClient]:
    async with case_worker(env, pool, store, tmp_path,
                           [load_rulebook, load_reporter_record, load_respondent_record]):
        yield DueProcessClient(env.client, QUEUE)


async def closed_flag(env: WorkflowEnvironment, client: DueProcessClient) -> str:
    """An automated flag, dismissed by a person and closed; its workflow has completed."""
    filed = await client.file_report(cc.automated_flag(),
                                     idempotency_key=f"flag-{uuid.uuid4().hex}")
    for command in cc.to_closure():
        await client.send(filed.case_id, command)
    await env.client.get_workflow_handle(filed.case_id).result()
    return filed.case_id


async def idle_out(env: WorkflowEnvironment, case_id: str) -> Any:
    """The rebuilt run's result once it has been idle for CLOSED_CASE_IDLE."""
    # The closure's retention timer (an abandoned child) keeps the server's clock locked,
    # so the idle period is slept through explicitly (fixtures/skipped_time.py).
    return await result_after(env, env.client.get_workflow_handle(case_id),
                              CLOSED_CASE_IDLE + timedelta(minutes=1))


async def types(store: EventStore, case_id: str) -> list[str]:
    return [e.event_type for e in await store.read_stream(case_stream(case_id))]


async def test_a_closed_dismissal_is_corrected_as_an_automation_error_with_an_apology(
        env: WorkflowEnvironment, client: DueProcessClient, store: EventStore,
        pool: asyncpg.Pool, tmp_path: Path, record_history: Any) -> None:
    # given an automated flag dismissed and closed: its workflow has completed
    case_id = await closed_flag(env, client)
    before = await types(store, case_id)
    assert before[-1] == "CaseClosed"
    # when the case officer corrects it as an automation error, with an apology
    result = await client.send(case_id, cc.correction())
    # then the correction is recorded after the closure, on the same stream
    assert [e.type for e in result.events] == ["RecordCorrected"]
    assert await types(store, case_id) == [*before, "RecordCorrected"]
    assert result.version == len(before) + 1
    [corrected] = [e for e in result.events if isinstance(e, dc.RecordCorrected)]
    assert corrected.automation_error and corrected.detector_id == cc.DETECTOR.id
    # and the run started again completes once idle, holding the correction
    handle = env.client.get_workflow_handle(case_id)
    final = dc.CaseState.model_validate(await idle_out(env, case_id))
    assert final.closed and len(final.corrections) == 1
    assert (await handle.describe()).status is WorkflowExecutionStatus.COMPLETED
    await record_history(env, case_id, "closed_case_corrected")
    # and the apology was dispatched to the respondent, caused by the correction
    notes = await store.read_stream(notification_stream(case_id))
    assert str(result.event_ids[0]) in {n.payload["caused_by"] for n in notes}
    assert any(cc.APOLOGY in p.read_text() for p in (tmp_path / "outbox").rglob("*")
               if p.is_file())
    # and the audit links the corrected report and its correction, both ways
    audit = audit_case(await store.read_stream(case_stream(case_id)), notes)
    by_type = {t.event_type: t for t in audit.timeline}
    assert any(f.startswith("corrected by") for f in by_type["ReportFiled"].flags)
    assert any(f.startswith("corrects") for f in by_type["RecordCorrected"].flags)
    # and the hash chain continues unbroken across the runs
    async with pool.acquire() as conn:
        assert (await verify_store(conn)).ok


async def test_concurrent_corrections_of_a_closed_case_are_each_recorded_once(
        env: WorkflowEnvironment, client: DueProcessClient, store: EventStore) -> None:
    # given a closed case
    case_id = await closed_flag(env, client)
    # when the same correction is sent twice at once, and another one beside them
    same, other = cc.correction(), cc.correction("The report named the wrong post.")
    results = await asyncio.gather(client.send(case_id, same), client.send(case_id, same),
                                   client.send(case_id, other))
    # then each distinct correction is recorded exactly once, by one run
    assert sorted(len(r.events) for r in results) == [0, 1, 1]
    assert (await types(store, case_id)).count("RecordCorrected") == 2
    # and the same correction sent again later (its run since completed) changes nothing
    await idle_out(env, case_id)
    again = await client.send(case_id, same)
    assert again.events == [] and (await types(store, case_id)).count("RecordCorrected") == 2


async def test_a_closed_case_refuses_anything_but_a_correction_naming_rule_and_field(
        env: WorkflowEnvironment, client: DueProcessClient, store: EventStore) -> None:
    # given a closed case
    case_id = await closed_flag(env, client)
    before = await types(store, case_id)
    # when a step of the procedure is sent to it
    with pytest.raises(CommandRejected) as caught:
        await client.send(case_id, dc.AcknowledgeReport(actor=cc.OFFICER, authority=cc.RB))
    # then the closed-case rule refuses it, naming the command's type, and nothing changes
    assert caught.value.rule == "case-closed" and caught.value.field == "type"
    assert caught.value.error_type == "CaseClosed"
    assert await types(store, case_id) == before
    # and a retried close is already on the record
    assert (await client.send(case_id, cc.to_closure()[-1])).events == []


async def test_a_referral_after_closure_goes_on_the_closed_case_through_the_same_path(
        env: WorkflowEnvironment, client: DueProcessClient, store: EventStore) -> None:
    # given a closed case whose workflow has completed
    case_id = await closed_flag(env, client)
    before = await types(store, case_id)
    # when a referral to the police made after closure is recorded on it
    referral = dc.RecordInstruction(
        actor=cc.OFFICER, authority=cc.RB, from_person_id=cc.OFFICER.id,
        from_role="case_officer", channel="email",
        content=personal(cc.OFFICER.id, "Referred the flagged post to the police."),
        received_at=datetime.now(UTC) - timedelta(days=1),
        direction=ContactDirection.SENT, kind=ContactKind.REFERRAL,
        outside_body="Metropolitan Police Online Hate Crime Hub")
    result = await client.send(case_id, referral)
    # then the case is started again from the store and the contact recorded once
    assert [e.type for e in result.events] == ["InstructionRecorded"]
    assert await types(store, case_id) == [*before, "InstructionRecorded"]
    assert (await client.send(case_id, referral)).events == []
    # and the case stays closed, its run completing again once idle
    final = dc.CaseState.model_validate(await idle_out(env, case_id))
    assert final.closed and len(final.instructions) == 1


async def test_a_correction_reaching_the_closing_run_is_recorded_there_once(
        env: WorkflowEnvironment, pool: asyncpg.Pool, store: EventStore, tmp_path: Path,
        load_rulebook: Any, load_reporter_record: Any, load_respondent_record: Any) -> None:
    # given a worker whose notices wait for a gate, and a member's report dismissed and
    # closed (its complainant is told): the closing run waits for its notices
    gate = asyncio.Event()
    outbox = FileSink(tmp_path / "outbox")
    notes = NotificationActivities(pool, store, outbox, "test@localhost")

    @activity.defn(name=DISPATCH_NOTIFICATIONS)
    async def gated(request: DispatchInput) -> DispatchResult:
        await gate.wait()
        return await notes.dispatch_notifications(request)

    async with case_worker(env, pool, store, tmp_path,
                           [load_rulebook, load_reporter_record, load_respondent_record], gated):
        client = DueProcessClient(env.client, QUEUE)
        filed = await client.file_report(rx.member_report("m-ann", "m-bob"),
                                         idempotency_key=f"member-{uuid.uuid4().hex}")
        for command in cc.to_closure():
            await client.send(filed.case_id, command)
        handle = env.client.get_workflow_handle(filed.case_id)
        closing = (await handle.describe()).run_id
        assert (await handle.describe()).status is WorkflowExecutionStatus.RUNNING
        # when a correction arrives while that run waits for its notices, and the notices
        # are then let go
        fix = cc.correction().model_copy(update={"automation_error": False})
        correction = asyncio.create_task(client.send(filed.case_id, fix))
        try:
            recorded = await eventually_recorded(store, filed.case_id)
        finally:
            gate.set()  # else the worker would wait for the gated notices for ever
        result = await correction
        # then the closing run recorded it, once, and completed after it
        assert [e.type for e in result.events] == ["RecordCorrected"]
        assert recorded.run_id == closing and recorded.event_id == result.event_ids[0]
        assert (await types(store, filed.case_id)).count("RecordCorrected") == 1
        closed = env.client.get_workflow_handle(filed.case_id, run_id=closing)
        assert dc.CaseState.model_validate(await closed.result()).corrections


async def eventually_recorded(store: EventStore, case_id: str) -> RecordedEvent:
    """The correction once it is on the stream (the send runs in a task meanwhile)."""
    for _ in range(600):
        found = [e for e in await store.read_stream(case_stream(case_id))
                 if e.event_type == "RecordCorrected"]
        if found:
            return found[0]
        await asyncio.sleep(0.1)
    raise AssertionError("the correction was not recorded")
