"""Typed client for back-office services: start a case, send decisions, read state.

Every business rejection surfaces as ``CommandRejected`` with the stable error type, the
rule broken and the field at fault, exactly as the decider raised it.
"""

from __future__ import annotations

import hashlib
from typing import Any

from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ActivityError, ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from ..domain import case as dc
from ..domain.base import DomainError
from ..domain.rulebook import refuse_caller_rulebook
from ..workflows.case import CaseInput, CaseWorkflow, CommandRequest, DecisionResult


class CommandRejected(Exception):
    def __init__(self, error_type: str, message: str, details: dict[str, Any]) -> None:
        super().__init__(f"{error_type}: {message}")
        self.error_type = error_type
        self.message = message
        self.rule: str | None = details.get("rule")
        self.field: str | None = details.get("field")
        self.details = details


def case_id_for(idempotency_key: str) -> str:
    """Case (and workflow) id from the intake's idempotency key. Hashed: workflow ids are
    stored in plain text and the key may carry personal data."""
    if not idempotency_key.strip():
        raise ValueError("idempotency_key: must not be blank")
    return hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]


def _rejected(err: WorkflowUpdateFailedError) -> Exception:
    cause: BaseException | None = err.cause
    while isinstance(cause, ActivityError):  # a store failure surfaced without mapping
        cause = cause.cause
    if isinstance(cause, ApplicationError) and cause.type:
        details = cause.details[0] if cause.details else {}
        return CommandRejected(cause.type, cause.message, details if isinstance(details, dict)
                               else {})
    return err


def _closed(case_id: str, field: str) -> CommandRejected:
    return CommandRejected("CaseClosed", f"case {case_id} is closed: its record is final", {
        "rule": "closed-case-is-final", "field": field, "case_id": case_id})


class DueProcessClient:
    def __init__(self, client: Client, task_queue: str) -> None:
        self._client = client
        self._task_queue = task_queue

    async def file_report(
        self, command: dc.FileReport, *, idempotency_key: str, correlation_id: str | None = None
    ) -> DecisionResult:
        """Start the case and file the report atomically; the same key twice is one case.

        The report is judged under the organisation's published rulebook, which the
        workflow loads; a report carrying a rulebook of its own is refused here, before
        any workflow starts (and again by the workflow, for callers that skip this)."""
        try:
            refuse_caller_rulebook(command)
        except DomainError as err:
            raise CommandRejected(err.error_type, err.message, err.details()) from None
        case_id = case_id_for(idempotency_key)
        start = WithStartWorkflowOperation(
            CaseWorkflow.run,
            CaseInput(case_id=case_id),
            id=case_id,
            task_queue=self._task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            # A closed case is never restarted empty by a late duplicate of its intake.
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
        try:
            result: DecisionResult = await self._client.execute_update_with_start_workflow(
                "decide",
                CommandRequest(command=command, correlation_id=correlation_id or case_id),
                start_workflow_operation=start,
                result_type=DecisionResult,
            )
        except WorkflowUpdateFailedError as err:
            raise _rejected(err) from err
        except WorkflowAlreadyStartedError as err:
            raise _closed(case_id, "idempotency_key") from err
        except RPCError as err:
            # Servers report the refused duplicate start either way.
            if err.status is RPCStatusCode.ALREADY_EXISTS or "ALREADY_EXISTS" in str(err):
                raise _closed(case_id, "idempotency_key") from err
            raise
        return result

    async def send(
        self, case_id: str, command: dc.CaseCommand, *, correlation_id: str | None = None,
        causation_id: str | None = None,
    ) -> DecisionResult:
        handle = self._client.get_workflow_handle_for(CaseWorkflow.run, case_id)
        try:
            result: DecisionResult = await handle.execute_update(
                "decide",
                CommandRequest(command=command, correlation_id=correlation_id,
                               causation_id=causation_id),
                result_type=DecisionResult,
            )
        except WorkflowUpdateFailedError as err:
            raise _rejected(err) from err
        except RPCError as err:
            if err.status is RPCStatusCode.NOT_FOUND or "already completed" in err.message:
                raise await self._why_unavailable(case_id) from err
            raise
        return result

    async def _why_unavailable(self, case_id: str) -> CommandRejected:
        """A case that takes no more decisions: closed, or never opened."""
        try:
            await self._client.get_workflow_handle(case_id).describe()
        except RPCError:
            return CommandRejected("InvalidCommand", f"no case {case_id!r}",
                                   {"rule": "case-exists", "field": "case_id"})
        return _closed(case_id, "case_id")

    async def state(self, case_id: str) -> dc.CaseState:
        handle = self._client.get_workflow_handle_for(CaseWorkflow.run, case_id)
        return await handle.query(CaseWorkflow.state)

    async def deadlines(self, case_id: str) -> list[dc.Deadline]:
        handle = self._client.get_workflow_handle_for(CaseWorkflow.run, case_id)
        return await handle.query(CaseWorkflow.deadlines)
