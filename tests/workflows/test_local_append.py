"""The local append activity (patch local-append-activity) keeps the exactly-once append:

- an attempt that wrote the batch but failed before reporting it is retried inside the
  same workflow task with the same input, and the store recognises its stored batch;
- a workflow task lost after its local append committed (the worker killed before it
  completed the task) is run again with a new workflow.now(): the same event ids with
  other timestamps. The store's batch is adopted, once, and the workflow folds the
  STORED events, so its state is the record's."""

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
from dueprocess.workflows.case import CaseWorkflow, CommandRequest, case_stream
from temporalio import activity
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import (
    HandleUpdateInput,
    Interceptor,
    Worker,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)


class LoseTheAcknowledgementsTask(Interceptor):
    """Fails the workflow task in which the first AcknowledgeReport was decided and its
    local append committed, as a worker killed before completing the task would: the
    server hands the Update to a new task, which decides and appends again."""

    lost: list[str] = []  # shared by the workflow instances the worker builds

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor] | None:
        lost = self.lost

        class Inbound(WorkflowInboundInterceptor):
            async def handle_update_handler(self, input: HandleUpdateInput) -> Any:
                result = await super().handle_update_handler(input)
                [request] = input.args
                if isinstance(request, CommandRequest) and not lost \
                        and isinstance(request.command, dc.AcknowledgeReport):
                    lost.append(str(result.event_ids[0]))
                    raise RuntimeError("the worker died before completing this task")
                return result

        return Inbound


async def _worker_story(env: WorkflowEnvironment, queue: str, append: Any, store: EventStore,
                        pool: asyncpg.Pool, tmp_path: Path, loaders: list[Any],
                        interceptors: list[Interceptor]) -> tuple[Worker, Story]:
    notes = NotificationActivities(pool, store, FileSink(tmp_path), "t@localhost")
    worker = Worker(env.client, task_queue=queue, workflows=[CaseWorkflow],
                    activities=[append, EventStoreActivities(store).load_stream,
                                notes.dispatch_notifications, *loaders],
                    interceptors=interceptors)
    story = Story(DueProcessClient(env.client, queue), load_policy_file(None),
                  clock=env.get_current_time)
    return worker, story


async def test_an_append_lost_after_writing_is_retried_and_recorded_once(
    env: WorkflowEnvironment, store: EventStore, pool: asyncpg.Pool, tmp_path: Path,
    load_rulebook: Any, load_reporter_record: Any, load_respondent_record: Any,
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

    worker, story = await _worker_story(env, "lossy", append_then_lose_the_reply, store, pool,
                                        tmp_path, [load_rulebook, load_reporter_record,
                                                   load_respondent_record], [])
    async with worker:
        # Given a report filed and acknowledged, each append's first attempt lost
        await story.file()
        await story.send(dc.AcknowledgeReport(actor=story.officer, authority="rulebook s.3.2"))
        state = await story.client.state(story.case_id)
    # Then each batch was attempted twice and recorded once
    assert sorted(attempts.values()) == [2, 2]
    events = await store.read_stream(case_stream(story.case_id))
    assert [e.event_type for e in events] == ["ReportFiled", "ReportAcknowledged"]
    assert state.stage == dc.CaseStage.ACKNOWLEDGED


async def test_a_batch_appended_by_a_lost_workflow_task_is_adopted_exactly_once(
    env: WorkflowEnvironment, store: EventStore, pool: asyncpg.Pool, tmp_path: Path,
    load_rulebook: Any, load_reporter_record: Any, load_respondent_record: Any,
) -> None:
    real = EventStoreActivities(store)
    sent: list[AppendInput] = []
    results: list[AppendResult] = []

    @activity.defn(name=APPEND_EVENTS)
    async def recording_append(request: AppendInput) -> AppendResult:
        sent.append(request)
        results.append(await real.append_events(request))
        return results[-1]

    LoseTheAcknowledgementsTask.lost.clear()
    worker, story = await _worker_story(env, "lost-task", recording_append, store, pool,
                                        tmp_path, [load_rulebook, load_reporter_record,
                                                   load_respondent_record],
                                        [LoseTheAcknowledgementsTask()])
    async with worker:
        # Given a filed report; when the acknowledgement's workflow task is lost after its
        # local append committed
        await story.file()
        decided = await story.send(dc.AcknowledgeReport(actor=story.officer,
                                                        authority="rulebook s.3.2"))
        state = await story.client.state(story.case_id)
        # Then the next decision is recorded after it, at the right version
        await story.send(dc.TriageCase(actor=story.officer, authority="rulebook s.3.3",
                                       outcome=dc.TriageOutcome.INVESTIGATE, reasons="x"))

    first, rebuilt = [r for r in sent if str(r.events[0].event_id) in
                      LoseTheAcknowledgementsTask.lost]
    # The lost task's batch was rebuilt with the same ids and another time...
    assert [e.event_id for e in first.events] == [e.event_id for e in rebuilt.events]
    assert first.events[0].recorded_at != rebuilt.events[0].recorded_at
    # ...and the store holds it once, as the first attempt wrote it
    events = await store.read_stream(case_stream(story.case_id))
    assert [e.event_type for e in events] == ["ReportFiled", "ReportAcknowledged",
                                             "CaseTriaged"]
    assert [e.stream_version for e in events] == [1, 2, 3]
    [ack] = [e for e in events if e.event_type == "ReportAcknowledged"]
    assert ack.event_id == first.events[0].event_id
    assert ack.recorded_at == first.events[0].recorded_at
    assert ack.effective_at == first.events[0].effective_at
    # The rebuilt attempt was answered with the stored batch, which the workflow folded
    assert results[sent.index(rebuilt)].version == 2
    assert decided.version == 2 and decided.event_ids == [ack.event_id]
    assert [e.effective_at for e in decided.events] == [ack.effective_at]
    assert state.stage == dc.CaseStage.ACKNOWLEDGED and state.as_of == ack.effective_at
