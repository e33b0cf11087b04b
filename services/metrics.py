"""The application's own metrics, recorded through the Temporal SDK's metric meter so they
leave by the same route as the SDK's (a Prometheus endpoint or OTLP; see services/telemetry).

Labels carry command types, rule ids and projection names only: never a person or a case.
This module is imported inside the workflow sandbox (the interceptor runs there), so it
imports nothing but temporalio.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from temporalio import workflow
from temporalio.common import MetricMeter
from temporalio.exceptions import ApplicationError
from temporalio.worker import (
    HandleUpdateInput,
    Interceptor,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

DECISIONS = "dueprocess_decisions"
REJECTIONS = "dueprocess_rejections"
PROJECTION_LAG = "dueprocess_projection_lag_seconds"
PROJECTION_BEHIND = "dueprocess_projection_lag_events"


def _command_type(input: HandleUpdateInput) -> str:
    request = input.args[0] if input.args else None
    return str(getattr(getattr(request, "command", None), "type", "unknown"))


def _rejection(err: ApplicationError) -> Mapping[str, str]:
    details: Any = err.details[0] if err.details else {}
    rule = details.get("rule") if isinstance(details, dict) else None
    return {"rule": str(rule or "unknown"), "type": err.type or "unknown"}


def _count(meter: MetricMeter, name: str, description: str, labels: Mapping[str, str]) -> None:
    meter.create_counter(name, description).with_additional_attributes(labels).add(1)


class _DecisionMetrics(WorkflowInboundInterceptor):
    # workflow.metric_meter() records nothing while a history is replayed, so a decision is
    # counted once, when it is made; validators do not run on replay at all.

    def handle_update_validator(self, input: HandleUpdateInput) -> None:
        try:
            self.next.handle_update_validator(input)
        except ApplicationError as err:
            self._rejected(input, err)
            raise

    async def handle_update_handler(self, input: HandleUpdateInput) -> Any:
        try:
            result = await self.next.handle_update_handler(input)
        except ApplicationError as err:
            self._rejected(input, err)
            raise
        _count(workflow.metric_meter(), DECISIONS, "decisions recorded, by command type",
               {"command": _command_type(input)})
        return result

    @staticmethod
    def _rejected(input: HandleUpdateInput, err: ApplicationError) -> None:
        _count(workflow.metric_meter(), REJECTIONS, "commands rejected, by rule broken",
               {"command": _command_type(input), **_rejection(err)})


class DecisionMetricsInterceptor(Interceptor):
    """Counts decisions by command type and rejections by rule, in every workflow."""

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor]:
        return _DecisionMetrics


def record_projection_lag(meter: MetricMeter, lags: Mapping[str, tuple[int, float]]) -> None:
    seconds = meter.create_gauge_float(
        PROJECTION_LAG, "how long a read model has been behind the event log (0: current)", "s")
    events = meter.create_gauge(
        PROJECTION_BEHIND, "events a read model has not applied yet (capped at 100000)")
    for name, (behind, age) in lags.items():
        labels = {"projection": name}
        seconds.with_additional_attributes(labels).set(age)
        events.with_additional_attributes(labels).set(behind)
