"""One durable timer per closed case, and per ended membership, for its retention period
(GDPR Art 5(1)(e)).

A case's is started by the case workflow when it closes (a child it abandons, so the
case's own workflow still completes at closure); an ended membership's when the end is
recorded (services/members.py), or by the sweep. It sleeps until the record's retention
end, then shreds the personal data of its people that no other record still needs (the
``shred_for_retention`` activity, through the one erasure mechanism).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from ..activities.contracts import SHRED_FOR_RETENTION, RetentionInput
    from ..domain.retention import RetentionResult
    from .case_contracts import STORE_RETRY

RETENTION_WORKFLOW = "RetentionWorkflow"


def retention_workflow_id(case_id: str) -> str:
    return f"retention-{case_id}"


def member_retention_workflow_id(member_id: str, ended_at: datetime) -> str:
    # Its own prefix: a case id and a member id may be spelled alike. One per end: a
    # member who rejoins and leaves again gets a timer for the second end too.
    return f"member-retention-{member_id}-{int(ended_at.timestamp())}"


@workflow.defn(name=RETENTION_WORKFLOW)
class RetentionWorkflow:
    @workflow.run
    async def run(self, request: RetentionInput) -> RetentionResult:
        wait = (request.due_at - workflow.now()).total_seconds()
        if wait > 0:
            await workflow.sleep(wait)
        # Retried until the store answers: the period is over, the shredding is owed.
        result: RetentionResult = await workflow.execute_activity(
            SHRED_FOR_RETENTION, request, result_type=RetentionResult,
            start_to_close_timeout=timedelta(minutes=5), retry_policy=STORE_RETRY)
        return result
