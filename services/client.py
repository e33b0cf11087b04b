"""Typed client for back-office services: start a case, send decisions, read state.

Every business rejection surfaces as ``CommandRejected`` with the stable error type, the
rule broken and the field at fault, exactly as the decider raised it; an unknown case as
``NotFound``; Temporal unreachable (or gone mid-call) as ``ServiceUnavailable``. Callers
never see a raw RPC error.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol, TypeVar

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from ..activities.contracts import LOAD_RULEBOOK
from ..domain import case as dc
from ..domain.base import DomainError
from ..domain.envelope import PrincipalRecord
from ..domain.rulebook import refuse_caller_rulebook
from ..store.db import Database
from ..workflows.case import CaseInput, CaseWorkflow, CommandRequest, DecisionResult
from .case_list import CasePage, list_cases

# Re-exported: callers import the client's errors from here.
from .client_errors import ClientError as ClientError
from .client_errors import CommandRejected as CommandRejected
from .client_errors import NotFound as NotFound
from .client_errors import ServiceUnavailable as ServiceUnavailable
from .client_errors import (
    closed_case,
    domain_rejection,
    rejected,
    rpc_errors,
)
from .closed_cases import (
    EndedUnclosed,
    send_to_case,
    start_member_retention,
    start_retention,
)

T = TypeVar("T")

# What a workflow has done once it acted on a case: scheduled a timer or an activity other
# than reading the published rulebook (which every intake does before it is judged).
_ACTED = frozenset({
    EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
    EventType.EVENT_TYPE_TIMER_STARTED,
})

class CaseClient(Protocol):
    """What both clients offer: this module's over Temporal, services/api_client.py's
    over the HTTP API."""

    async def file_report(
        self, command: dc.FileReport, *, idempotency_key: str, correlation_id: str | None = None,
        principal: PrincipalRecord | None = None,
    ) -> DecisionResult: ...

    async def send(
        self, case_id: str, command: dc.CaseCommand, *, correlation_id: str | None = None,
        causation_id: str | None = None, principal: PrincipalRecord | None = None,
    ) -> DecisionResult: ...

    async def state(self, case_id: str) -> dc.CaseState: ...

    async def deadlines(self, case_id: str) -> list[dc.Deadline]: ...

    async def cases(  # a page of the list: stage, its age, deadline, overdue at as_of (now)
        self, *, stage: dc.CaseStage | None = None, overdue: bool = False,
        person_id: str | None = None, cursor: str | None = None, limit: int = 50,
        as_of: datetime | None = None) -> CasePage: ...


def case_id_for(idempotency_key: str) -> str:
    """Case (and workflow) id from the intake's idempotency key. Hashed: workflow ids are
    stored in plain text and the key may carry personal data."""
    if not idempotency_key.strip():
        raise ValueError("idempotency_key: must not be blank")
    return hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]


def _acted(event: HistoryEvent) -> bool:
    if event.event_type not in _ACTED:
        return False
    scheduled = event.activity_task_scheduled_event_attributes
    return not (event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
                and scheduled.activity_type.name == LOAD_RULEBOOK)


class DueProcessClient:
    def __init__(self, client: Client, task_queue: str, pool: Database | None = None, *,
                 retention_queue: str | None = None) -> None:
        """``pool``: the database the case list is read from (``cases()``; None: no case
        list). ``retention_queue``: where the cases this client starts run their retention
        timer: the configured main queue (default ``task_queue``), also when the cases
        themselves run on another (``dueprocess demo``'s worker, gone after the demo)."""
        self._client = client
        self._task_queue = task_queue
        self._pool = pool
        self._retention_queue = retention_queue or task_queue

    async def file_report(
        self, command: dc.FileReport, *, idempotency_key: str, correlation_id: str | None = None,
        principal: PrincipalRecord | None = None,
    ) -> DecisionResult:
        """Start the case and file the report atomically; the same key twice is one case.

        The report is judged under the organisation's published rulebook, which the
        workflow loads; a report carrying a rulebook of its own is refused here, before
        any workflow starts (and again by the workflow, for callers that skip this). Should
        the workflow refuse the report, the workflow it started, still empty, is ended.
        """
        if not idempotency_key.strip():
            raise CommandRejected("InvalidCommand", "the idempotency key must not be blank",
                                  {"rule": "idempotency-key", "field": "idempotency_key"})
        try:
            refuse_caller_rulebook(command)
        except DomainError as err:
            raise domain_rejection(err) from err
        case_id = case_id_for(idempotency_key)
        start = WithStartWorkflowOperation(
            CaseWorkflow.run,
            CaseInput(case_id=case_id, retention_queue=self._retention_queue),
            id=case_id,
            task_queue=self._task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            # A closed case is never restarted empty by a late duplicate of its intake;
            # an intake ended because it was refused may be filed again, corrected.
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        )
        try:
            with rpc_errors(case_id):
                result: DecisionResult = await self._client.execute_update_with_start_workflow(
                    "decide",
                    CommandRequest(command=command, correlation_id=correlation_id or case_id,
                                   principal=principal),
                    start_workflow_operation=start,
                    result_type=DecisionResult,
                )
        except WorkflowUpdateFailedError as err:
            await self._end_if_empty(case_id)
            raise rejected(err) from err
        except WorkflowAlreadyStartedError as err:
            raise closed_case(case_id, "idempotency_key") from err
        except RPCError as err:
            # Servers report the refused duplicate start either way.
            if err.status is RPCStatusCode.ALREADY_EXISTS or "ALREADY_EXISTS" in str(err):
                raise closed_case(case_id, "idempotency_key") from err
            raise
        return result

    async def _end_if_empty(self, case_id: str) -> None:
        """End the workflow a refused intake started, if it has done nothing at all (a
        duplicate intake refused by a live case leaves that case alone)."""
        handle = self._client.get_workflow_handle(case_id)
        with rpc_errors(case_id):
            history = await handle.fetch_history()
            if any(_acted(e) for e in history.events):
                return
            try:
                await handle.terminate(reason="intake refused: the case was never opened")
            except RPCError as err:
                if err.status is not RPCStatusCode.NOT_FOUND:  # NOT_FOUND: already closed
                    raise

    async def send(
        self, case_id: str, command: dc.CaseCommand, *, correlation_id: str | None = None,
        causation_id: str | None = None, principal: PrincipalRecord | None = None,
    ) -> DecisionResult:
        """``principal``: how the actor was authenticated (recorded on every event).

        To a closed case (its workflow completed) the command starts the workflow again,
        rebuilt from the event store, where the decider judges it: a correction is
        recorded, anything else refused by the closed-case rule (services/closed_cases)."""
        request = CommandRequest(command=command, correlation_id=correlation_id,
                                 causation_id=causation_id, principal=principal)
        try:
            with rpc_errors(case_id):
                return await send_to_case(self._client, self._task_queue, case_id, request)
        except WorkflowUpdateFailedError as err:
            raise rejected(err) from err
        except EndedUnclosed as err:  # a refused intake: no case to correct
            raise closed_case(case_id, "case_id") from err

    async def resume(self, start: CaseInput) -> None:
        """Start a case's workflow from a state recorded elsewhere (an imported open case:
        services/importer.py); an existing run of the case is kept, never restarted."""
        if start.retention_queue is None:
            start = start.model_copy(update={"retention_queue": self._retention_queue})
        with rpc_errors(start.case_id):
            await self._client.start_workflow(
                CaseWorkflow.run, start, id=start.case_id, task_queue=self._task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING)

    async def start_retention(self, case_id: str, due_at: datetime) -> None:
        with rpc_errors(case_id):
            await start_retention(self._client, self._retention_queue, case_id, due_at)

    async def start_member_retention(self, member_id: str, ended_at: datetime,
                                     due_at: datetime) -> None:
        """An ended membership's retention timer, on the retention queue as a case's."""
        with rpc_errors(member_id):
            await start_member_retention(self._client, self._retention_queue, member_id,
                                         ended_at, due_at)

    async def state(self, case_id: str) -> dc.CaseState:
        return await self._query(case_id, CaseWorkflow.state)

    async def deadlines(self, case_id: str) -> list[dc.Deadline]:
        return await self._query(case_id, CaseWorkflow.deadlines)

    async def cases(self, *, stage: dc.CaseStage | None = None, overdue: bool = False,
                    person_id: str | None = None, cursor: str | None = None, limit: int = 50,
                    as_of: datetime | None = None) -> CasePage:
        if self._pool is None:
            raise ClientError("NoCaseList", "give the client pool= to list cases",
                              {"rule": "case-list-source", "field": "pool"})
        try:
            return await list_cases(self._pool, as_of or datetime.now(UTC), stage=stage,
                                    overdue=overdue, person_id=person_id, cursor=cursor,
                                    limit=limit)
        except DomainError as err:
            raise domain_rejection(err) from err

    async def _query(self, case_id: str, query: Callable[[CaseWorkflow], T]) -> T:
        handle = self._client.get_workflow_handle_for(CaseWorkflow.run, case_id)
        with rpc_errors(case_id):
            try:
                return await handle.query(query)
            except WorkflowQueryFailedError as err:
                raise ClientError("QueryFailed", f"case {case_id}: {err}", {}) from err
