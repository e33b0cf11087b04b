"""Commands to a case whose workflow has completed (issue 15: corrections of any outcome).

A case's workflow completes when the case closes, yet the decider still takes a correction
(with its apology notice) on a closed case. So a command that finds the workflow completed
starts it again, by update-with-start, in the mode that rebuilds the case from the event
store (``CaseInput.rebuild``); that run serves commands until idle, then completes again.

Race-safe and exactly once:
- Two senders at once: the start's conflict policy USE_EXISTING puts both Updates into the
  one new run, where the workflow's lock orders them; the decider makes a repeat a no-op.
- A command reaching the old run after its last decision is refused as ``RUN_ENDING`` by
  the validator (no trace in history); the sender waits for that run to end, then starts
  the next. Reuse policy ALLOW_DUPLICATE applies only once the describe says COMPLETED,
  or RUNNING when another sender started the next run first (the start then joins it).
- The rebuilt run appends at the stream's stored version, so the hash chain continues.

A case closed elsewhere than in its workflow (imported closed) gets its retention timer
from ``start_retention``, as a closing workflow starts it.

Raw Temporal errors propagate: services/client.py maps them to the client's errors.
"""

from __future__ import annotations

from datetime import datetime

from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from ..activities.contracts import RetentionInput
from ..workflows.case import CaseInput, CaseWorkflow, CommandRequest, DecisionResult
from ..workflows.case_contracts import RUN_ENDING
from ..workflows.retention import (
    RETENTION_WORKFLOW,
    member_retention_workflow_id,
    retention_workflow_id,
)

# Runs that may end under one command before it gives up (each one waited for): a run ends
# only when idle, so more than a couple in a row means something else is wrong.
_RESTARTS = 5


class EndedUnclosed(Exception):
    """The case's workflow ended without closing a case (a refused intake, terminated):
    there is no record to rebuild, so it is not started again."""

    def __init__(self, status: WorkflowExecutionStatus | None) -> None:
        super().__init__(f"the case's workflow ended {status.name if status else 'unknown'}")
        self.status = status


def ending_run(err: WorkflowUpdateFailedError) -> str | None:
    """The id of the run that refused the Update because it is completing, else None."""
    cause = err.cause
    if not isinstance(cause, ApplicationError) or cause.type != RUN_ENDING:
        return None
    details = cause.details[0] if cause.details else {}
    return str(details.get("run_id", "")) if isinstance(details, dict) else ""


async def wait_for_run(client: Client, case_id: str, run_id: str) -> None:
    """Until that run (not a later one) has ended, however it ended."""
    handle = client.get_workflow_handle(case_id, run_id=run_id or None)
    try:
        await handle.result(follow_runs=False)
    except WorkflowFailureError:
        pass  # ended all the same; the next start judges what to do


def _completed(err: RPCError) -> bool:
    return err.status is RPCStatusCode.NOT_FOUND or "already completed" in err.message


async def send_to_case(client: Client, task_queue: str, case_id: str,
                       request: CommandRequest) -> DecisionResult:
    """The command's result from the case's running workflow, or from the case started
    again if its workflow completed. Raises RPCError NOT_FOUND for no such case."""
    handle = client.get_workflow_handle_for(CaseWorkflow.run, case_id)
    try:
        result: DecisionResult = await handle.execute_update(
            "decide", request, result_type=DecisionResult)
        return result
    except WorkflowUpdateFailedError as err:
        run_id = ending_run(err)
        if run_id is None:
            raise
        await wait_for_run(client, case_id, run_id)
    except RPCError as err:
        if not _completed(err):
            raise
        status = (await client.get_workflow_handle(case_id).describe()).status
        # RUNNING: another sender started the closed case again meanwhile (the Update was
        # sent to the run that completed); the start below joins that run (USE_EXISTING).
        if status not in (WorkflowExecutionStatus.COMPLETED, WorkflowExecutionStatus.RUNNING):
            raise EndedUnclosed(status) from err
    return await restart_closed(client, task_queue, case_id, request)


async def restart_closed(client: Client, task_queue: str, case_id: str,
                         request: CommandRequest) -> DecisionResult:
    """Update-with-start of the closed case's rebuilt run (or the one already running)."""
    for attempt in range(1, _RESTARTS + 1):
        start = WithStartWorkflowOperation(
            CaseWorkflow.run, CaseInput(case_id=case_id, rebuild=True), id=case_id,
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE)
        try:
            result: DecisionResult = await client.execute_update_with_start_workflow(
                "decide", request, start_workflow_operation=start, result_type=DecisionResult)
            return result
        except WorkflowUpdateFailedError as err:
            run_id = ending_run(err)
            if run_id is None or attempt == _RESTARTS:
                raise
            await wait_for_run(client, case_id, run_id)
        except RPCError as err:
            if not _completed(err) or attempt == _RESTARTS:
                raise
    raise AssertionError("unreachable: the last attempt returns or raises")


async def start_retention(client: Client, queue: str, case_id: str, due_at: datetime) -> None:
    """Start a case's retention timer (workflows/retention.py) for a case closed elsewhere
    than in its workflow (an imported one); a timer running, or one that already ran (its
    shredding done), is kept, never started twice."""
    await _start_timer(client, queue, RetentionInput(case_id=case_id, due_at=due_at),
                       retention_workflow_id(case_id))


async def start_member_retention(client: Client, queue: str, member_id: str,
                                 ended_at: datetime, due_at: datetime) -> None:
    """Start an ended membership's retention timer, the same workflow as a case's; one
    per end, kept, never started twice, like a case's."""
    await _start_timer(client, queue, RetentionInput(member_id=member_id, due_at=due_at),
                       member_retention_workflow_id(member_id, ended_at))


async def _start_timer(client: Client, queue: str, request: RetentionInput,
                       workflow_id: str) -> None:
    try:
        await client.start_workflow(
            RETENTION_WORKFLOW, request, id=workflow_id, task_queue=queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE)
    except WorkflowAlreadyStartedError:
        pass
