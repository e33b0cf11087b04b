"""The baseline: a workflow that runs one activity and returns (importable by the sandbox)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow


@activity.defn(name="bare_step")
async def bare_step(payload: str) -> str:
    return payload


@workflow.defn(name="BareWorkflow")
class BareWorkflow:
    @workflow.run
    async def run(self, payload: str) -> str:
        result: str = await workflow.execute_activity(
            bare_step, payload, start_to_close_timeout=timedelta(seconds=30))
        return result
