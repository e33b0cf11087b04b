"""One durable workflow per case: a thin shell over the case decider.

- Staff decisions arrive as the ``decide`` Update. Its validator runs the decider, so an
  invalid step is rejected synchronously and leaves no trace in history. The handler
  reuses those events unless the state moved while it queued, appends them in ONE
  activity, then folds them with the ``evolve`` that audit and projections use.
- Deadlines come from the domain (``pending_dues``: the earliest is waited on as a durable
  timer); when one fires, its system command goes through the same path.
- The append is a local activity (case_helpers.append) that also posts the decision's
  notices when its worker posts inline (case_dispatch); else they go to a dispatch
  activity in the background. Either way a decision costs one workflow task.
- History stays bounded: the workflow continues as new with its folded state.
- A report is filed under the organisation's published rulebook, read by an activity
  when the report arrives and pinned into the case; a report carrying its own rulebook
  is refused (``domain/rulebook.py``).
- A closed case's run completes. A command sent later (a correction) starts the case again
  (``CaseInput.rebuild``, services/client.py): read from the store, served until idle.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from uuid import UUID

from temporalio import workflow
from temporalio.exceptions import ApplicationError, FailureError

with workflow.unsafe.imports_passed_through():
    # email-validator imports its own package again on every call (domain/text.py checks
    # contacts while commands are decoded): passed through, the sandbox does not re-load it.
    import email_validator  # noqa: F401

    from ..activities.contracts import (
        LOAD_STREAM,
        AppendInput,
        DispatchInput,
        LoadedStream,
        LoadInput,
    )
    from ..domain import case as dc
    from ..domain.base import DomainError
    from ..domain.envelope import NewEvent
    from ..domain.rulebook import file_under_published, refuse_caller_rulebook

    # Re-exported for callers of this module; stream names are defined in domain/streams.
    from ..domain.streams import case_stream as case_stream
    from . import search_attributes as sa
    from .case_contracts import (
        CASE_WORKFLOW,
        CLOSED_CASE_IDLE,
        DATA_COLLECTION_NOTICE_PATCH,
        DISPATCH_GIVE_UP,
        DISPATCH_RETRY,
        NOTICES_IN_APPEND_PATCH,
        PUBLISHED_RULEBOOK_PATCH,
        SCHEDULE_HEARING_PATCH,
        SEARCH_ATTRIBUTES_PATCH,
        STORE_GIVE_UP,
        STORE_RETRY,
        CommandRequest,
        DecisionResult,
        rejection,
        run_ending,
    )
    from .case_dispatch import Dispatches, fold_with_notices
    from .case_helpers import (
        Validated,
        append,
        append_rejection,
        case_envelope,
        deadline_key,
        decided,
        history_too_long,
        is_conflict,
        published_rulebook,
        timer_in_use,
    )
    from .case_input import CaseInput as CaseInput  # re-exported: callers start cases with it
    from .case_priors import for_validation, with_prior_sanctions
    from .case_reporting import repeat_reporting_step
    from .case_retention import start_retention
    from .case_timer import DeadlineTimer

__all__ = [
    "CASE_WORKFLOW", "DATA_COLLECTION_NOTICE_PATCH", "DISPATCH_GIVE_UP", "DISPATCH_RETRY",
    "PUBLISHED_RULEBOOK_PATCH", "SCHEDULE_HEARING_PATCH", "SEARCH_ATTRIBUTES_PATCH",
    "STORE_GIVE_UP", "STORE_RETRY", "CaseInput", "CaseWorkflow", "CommandRequest",
    "DecisionResult", "case_stream", "rejection",
]


@workflow.defn(name=CASE_WORKFLOW)
class CaseWorkflow:
    @workflow.init
    def __init__(self, start: CaseInput) -> None:
        self._case_id = start.case_id
        self._state = start.state or dc.CaseState.empty(start.case_id)
        self._version = start.version
        self._fired = set(start.fired)
        self._history_limit = start.history_limit
        self._lock = asyncio.Lock()
        self._changed = False
        self._dispatches = Dispatches()
        self._timer = DeadlineTimer()  # the next deadline's
        self._published: sa.CaseAttributes | None = None  # each run publishes all once
        # What the validator decided, for the handler right after it (case_helpers).
        self._validated: Validated | None = None
        self._retention_queue = start.retention_queue
        self._loading = start.rebuild  # commands wait until the record is read
        self._ending = False  # past the last decision: commands go to the next run

    @workflow.run
    async def run(self, start: CaseInput) -> dc.CaseState:
        if start.rebuild:
            await self._reload()
            self._loading = False
            if self._closed():
                return await self._serve_closed()
        while True:
            deadline = self._next_deadline()
            self._publish(deadline)
            self._changed = False
            if await self._timer.wait(deadline, lambda: self._changed or self._closed()
                                      or history_too_long(self._history_limit)):
                assert deadline is not None
                await self._fire(deadline)
            if self._closed():
                await self._drain()
                self._ending = True
                await start_retention(self._state, self._retention_queue)
                self._publish(None)
                return self._state
            if history_too_long(self._history_limit):
                await self._drain()
                workflow.continue_as_new(CaseInput(
                    case_id=self._case_id, state=self._state, version=self._version,
                    fired=sorted(self._fired), history_limit=self._history_limit,
                    retention_queue=self._retention_queue,
                ))

    # -- staff decisions -----------------------------------------------------------------

    @workflow.update(name="decide")
    async def decide(self, request: CommandRequest) -> DecisionResult:
        if self._loading:  # asked only in a rebuilt run: older histories replay unchanged
            await workflow.wait_condition(lambda: not self._loading)
        async with self._lock:
            return await self._execute(request)

    @decide.validator
    def _validate(self, request: CommandRequest) -> None:
        command = request.command
        if self._ending:
            raise run_ending()
        if self._loading:
            return  # judged by the handler, on the record once it is read
        try:
            if isinstance(command, dc.FileReport):
                refuse_caller_rulebook(command)
                if self._state.report is None:
                    return  # judged by the handler, under the rulebook it loads
            now = workflow.now()
            judged = for_validation(self._state, command)
            events = dc.decide(self._state, judged, now)
            if judged is command:  # else the handler decides on the record it reads
                self._validated = (request, self._state, now, events)
        except DomainError as err:
            raise rejection(err) from None

    @workflow.query(name="state")
    def state(self) -> dc.CaseState:
        return self._state

    @workflow.query(name="deadlines")
    def deadlines(self) -> list[dc.Deadline]:
        return dc.pending_deadlines(self._state)

    # -- mechanics -----------------------------------------------------------------------

    async def _execute(self, request: CommandRequest) -> DecisionResult:
        command = request.command
        if isinstance(command, dc.FileReport) and self._state.report is None \
                and workflow.patched(PUBLISHED_RULEBOOK_PATCH):
            try:
                refuse_caller_rulebook(command)
            except DomainError as err:
                raise rejection(err) from None
            command = file_under_published(command, await published_rulebook())
        command = await with_prior_sanctions(self._state, command)  # ACAS 19-22
        now = workflow.now()
        try:
            validated, self._validated = self._validated, None
            events = decided(validated, request, self._state, command, now)
        except DomainError as err:
            raise rejection(err) from None
        if not events:
            return DecisionResult(case_id=self._case_id, version=self._version, event_ids=[],
                                  events=[])
        ids = [workflow.uuid4() for _ in events]
        envelopes = [case_envelope(self._case_id, i, e, now, request)
                     for i, e in zip(ids, events, strict=True)]
        # Folded first when the append posts the notices, composed on the states made.
        folded = fold_with_notices(self._case_id, self._state, ids, events, now) \
            if workflow.patched(NOTICES_IN_APPEND_PATCH) else None
        # The events folded are those recorded: the store's, when it adopted a batch a
        # lost workflow task appended (case_helpers.append).
        recorded, posted = await self._append(
            envelopes, events, folded.notices if folded else [])
        if folded is not None and recorded is events:
            self._state = folded.state
            self._dispatches.start_unposted(folded.notices, posted)
        else:
            for event_id, event in zip(ids, recorded, strict=True):
                self._state = dc.evolve(self._state, event)
                self._dispatches.send(self._case_id, self._state, event_id, event, now)
        events = recorded
        self._changed = True
        if (follow_up := await repeat_reporting_step(self._state, events)) is not None:
            await self._execute(CommandRequest(command=follow_up, causation_id=str(ids[-1])))
        return DecisionResult(case_id=self._case_id, version=self._version, event_ids=ids,
                              events=events)

    async def _append(self, envelopes: list[NewEvent], events: list[dc.CaseEvent],
                      notices: list[DispatchInput]) -> tuple[list[dc.CaseEvent], set[UUID]]:
        """Record the events, or fail the decision with a clear, non-retryable rejection.
        Returns the events recorded and those whose notices the append posted."""
        try:
            result, recorded, posted = await append(AppendInput(
                stream_id=case_stream(self._case_id), expected_version=self._version,
                events=envelopes, notices=notices), events)
        except FailureError as err:  # the activity's failure (case_helpers._cause)
            if is_conflict(err):
                # Only this workflow writes the case stream; someone else did. Adopt what
                # the store holds so the next decision is judged on the record.
                await self._reload()
            raise append_rejection(err) from None
        self._version = result.version
        return recorded, posted

    async def _reload(self) -> None:
        loaded: LoadedStream = await workflow.execute_activity(
            LOAD_STREAM, LoadInput(stream_id=case_stream(self._case_id)),
            result_type=LoadedStream, start_to_close_timeout=timedelta(seconds=60),
            retry_policy=STORE_RETRY,
        )
        self._state = dc.state_from_payloads(self._case_id, loaded.payloads)
        self._version = loaded.version
        self._changed = True

    def _publish(self, deadline: dc.Deadline | None) -> None:
        """Show the case's procedure facts (never personal data) in the Temporal UI."""
        wanted = sa.case_attributes(self._state, deadline.due_at if deadline else None)
        changes = sa.updates(self._published, wanted)
        if changes and workflow.patched(SEARCH_ATTRIBUTES_PATCH):
            workflow.upsert_search_attributes(changes)
            self._published = wanted

    def _next_deadline(self) -> dc.Deadline | None:
        # Only the deadline chosen has its command made (dc.PendingDue).
        pending = [d for d in dc.pending_dues(self._state)
                   if deadline_key(d) not in self._fired and timer_in_use(d)]
        first = min(pending, key=lambda d: d.due_at, default=None)
        return first.deadline() if first is not None else None

    async def _fire(self, deadline: dc.Deadline) -> None:
        # Remembered before acting so a deadline the decider declines cannot spin the loop.
        self._fired.add(deadline_key(deadline))
        async with self._lock:
            try:
                await self._execute(CommandRequest(command=deadline.command,
                                                   causation_id=f"deadline:{deadline.kind}"))
            except ApplicationError as err:
                workflow.logger.warning("deadline %s not acted on: %s", deadline.kind, err)

    def _closed(self) -> bool:
        return self._state.stage == dc.CaseStage.CLOSED

    async def _serve_closed(self) -> dc.CaseState:
        """Take what the decider allows on a closed case until idle for CLOSED_CASE_IDLE.
        No deadlines, no second retention timer: the run that closed the case started it."""
        while True:
            self._publish(None)
            self._changed = False
            try:
                await workflow.wait_condition(lambda: self._changed, timeout=CLOSED_CASE_IDLE)
                continue
            except TimeoutError:
                await self._drain()
            if not self._changed:  # no decision while the last dispatches finished
                self._ending = True
                return self._state

    async def _drain(self) -> None:
        # One condition for both: a decision accepted while dispatches finish must be
        # recorded (and folded) by this run before it hands over or completes.
        self._timer.cancel()
        await workflow.wait_condition(
            lambda: workflow.all_handlers_finished() and self._dispatches.idle)
