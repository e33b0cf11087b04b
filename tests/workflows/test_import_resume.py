"""An imported open case resumes in its workflow at its current stage: deadlines missed
before the import are historical misses (never fired on import), later ones fire on time."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import asyncpg
from dueprocess.domain import case as dc
from dueprocess.domain.base import Actor
from dueprocess.domain.imports.plan import deadline_key
from dueprocess.domain.streams import case_stream
from dueprocess.services.client import DueProcessClient
from dueprocess.services.importer import ImportService, resume_in_workflow
from dueprocess.services.rulebook import RulebookService
from dueprocess.store.eventstore import EventStore
from dueprocess.workflows.case_helpers import deadline_key as workflow_deadline_key
from fixtures.case_examples import happy_path
from fixtures.imports import IMPORTER, open_case_file
from fixtures.imports import OPEN_CASE_ID as CASE_ID
from temporalio.testing import WorkflowEnvironment


def kinds(events: list[Any], *, imported: bool) -> list[str]:
    return [e.payload["kind"] for e in events
            if e.event_type == "DeadlineMissed" and (e.imported is not None) == imported]


async def test_an_imported_open_case_resumes_with_historical_misses_not_fired(
        env: WorkflowEnvironment, client: DueProcessClient, store: EventStore,
        pool: asyncpg.Pool, record_history: Any) -> None:
    # given an open case whose answer deadline passed before the import
    now = await env.get_current_time()
    service = ImportService(pool, store, RulebookService(store).current,
                            resume_in_workflow(client))
    # when it is imported
    report = await service.run(open_case_file(now), IMPORTER, now, import_id="imp-open")
    # then it is open at its stage, resumed, with the missed answer recorded as history
    case = report.cases[0]
    assert not case.closed and case.resumed and case.historical_deadlines == 1
    events = await store.read_stream(case_stream(CASE_ID))
    assert kinds(events, imported=True) == ["respond"]
    missed = next(e for e in events if e.event_type == "DeadlineMissed")
    assert missed.imported is not None and missed.imported.historical_deadline
    assert missed.effective_at < now <= missed.recorded_at + timedelta(seconds=1)
    state = await client.state(CASE_ID)
    assert state.stage == dc.CaseStage.NOTICE_ISSUED and "respond" in state.missed
    pending = await client.deadlines(CASE_ID)
    assert [d.kind for d in pending if d.due_at < now] == []
    hearing = next(d for d in pending if d.kind is dc.DeadlineKind.SCHEDULE_HEARING)
    assert hearing.due_at > now

    # when time passes beyond the hearing's scheduling deadline
    await env.sleep(hearing.due_at - now + timedelta(hours=1))
    events = await store.read_stream(case_stream(CASE_ID))
    # then that deadline fires in dueprocess (not imported); the old miss is not refired
    assert kinds(events, imported=False) == ["schedule_hearing"]
    assert kinds(events, imported=True) == ["respond"]
    # and the case takes decisions in its workflow as any other, on top of its history
    later = await env.get_current_time()
    by_name = {step.name: step.command for step in happy_path()}
    schedule = by_name["schedule"]
    assert isinstance(schedule, dc.ScheduleHearing)
    await client.send(CASE_ID, by_name["panel"])
    result = await client.send(CASE_ID, schedule.model_copy(
        update={"at": later + timedelta(days=20)}))
    assert result.version == len(events) + 2
    assert (await client.state(CASE_ID)).stage == dc.CaseStage.HEARING_SCHEDULED
    # a workflow started in an imported state: replayed by test_replay from now on
    await record_history(env, CASE_ID, "imported_open_case_resumed")


def test_the_planner_remembers_deadlines_as_the_workflow_does() -> None:
    deadline = dc.Deadline(kind=dc.DeadlineKind.RESPOND, due_at=datetime.fromisoformat(
        "2016-06-01T09:00:00+00:00"), command=dc.EscalateMissedDeadline(
        actor=Actor(id="dueprocess", role="system"), authority="policy:x#deadlines.respond",
        kind="respond", due_at=datetime.fromisoformat("2016-06-01T09:00:00+00:00")))
    assert deadline_key(deadline) == workflow_deadline_key(deadline)
