"""The case workflow's part in retention: at closure, start the case's retention timer
(workflows/retention.py) as a child it abandons, so the case completes as before.

Asked only under a rulebook with ``retention``, behind RETENTION_PATCH, so histories
recorded before it replay unchanged.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.workflow import ParentClosePolicy

from ..activities.contracts import RetentionInput
from ..domain import case as dc
from ..domain.retention import case_retention_end
from .case_contracts import RETENTION_PATCH
from .retention import RETENTION_WORKFLOW, retention_workflow_id


async def start_retention(state: dc.CaseState, queue: str | None = None) -> None:
    """``queue``: the configured main task queue (CaseInput.retention_queue), so a case
    closed by a worker of another queue (``dueprocess demo``'s, gone when the demo ends) is
    shredded by the main worker; None, as before it was recorded: this run's queue."""
    due = case_retention_end(state)
    if due is None or not workflow.patched(RETENTION_PATCH):
        return
    await workflow.start_child_workflow(
        RETENTION_WORKFLOW, RetentionInput(case_id=state.case_id, due_at=due),
        id=retention_workflow_id(state.case_id), task_queue=queue,
        parent_close_policy=ParentClosePolicy.ABANDON)
