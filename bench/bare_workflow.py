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


@workflow.defn(name="NoopUpdateWorkflow")
class NoopUpdateWorkflow:
    """The floor for a decision's round trip: an Update that does nothing, on a workflow
    that waits forever."""

    def __init__(self) -> None:
        self._done = False

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: self._done)

    @workflow.update
    async def noop(self, payload: str) -> str:
        return payload

    @workflow.signal
    def finish(self) -> None:
        self._done = True
