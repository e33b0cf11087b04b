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
    StartActivityInput,
    StartLocalActivityInput,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)

from ..activities.contracts import APPEND_EVENTS

DECISIONS = "dueprocess_decisions"
REJECTIONS = "dueprocess_rejections"
PROJECTION_LAG = "dueprocess_projection_lag_seconds"
PROJECTION_BEHIND = "dueprocess_projection_lag_events"
PROJECTION_APPLIED = "dueprocess_projection_events_applied"
DEADLINES_MISSED = "dueprocess_deadlines_missed"
CASES_OPEN = "dueprocess_cases_open"
STAGE_AGE = "dueprocess_stage_age_seconds"
NOTICES_UNSENT = "dueprocess_notices_unsent"
NOTICE_AGE = "dueprocess_notice_unsent_age_seconds"
API_DURATION = "dueprocess_api_request_duration_seconds"


def _command_type(input: HandleUpdateInput) -> str:
    request = input.args[0] if input.args else None
    return str(getattr(getattr(request, "command", None), "type", "unknown"))


def _rejection(err: ApplicationError) -> Mapping[str, str]:
    details: Any = err.details[0] if err.details else {}
    rule = details.get("rule") if isinstance(details, dict) else None
    return {"rule": str(rule or "unknown"), "type": err.type or "unknown"}


def _count(meter: MetricMeter, name: str, description: str, labels: Mapping[str, str]) -> None:
    meter.create_counter(name, description).with_additional_attributes(labels).add(1)


def _missed_deadlines(input: StartActivityInput | StartLocalActivityInput) -> list[str]:
    """The kinds of the DeadlineMissed events an append activity records (if it is one)."""
    if input.activity != APPEND_EVENTS or not input.args:
        return []
    events = getattr(input.args[0], "events", None) or []
    return [str(e.payload.get("kind", "unknown")) for e in events
            if getattr(e, "event_type", None) == "DeadlineMissed"]


class _AppendMetrics(WorkflowOutboundInterceptor):
    # A missed deadline is counted once its event is recorded (the append activity
    # succeeded), by kind; replays record nothing (workflow.metric_meter()).

    def start_activity(self, input: StartActivityInput) -> workflow.ActivityHandle[Any]:
        return _count_when_recorded(self.next.start_activity(input), input)

    def start_local_activity(
        self, input: StartLocalActivityInput
    ) -> workflow.ActivityHandle[Any]:
        # Appends run as local activities since the patch "local-append-activity".
        return _count_when_recorded(self.next.start_local_activity(input), input)


def _count_when_recorded(
    handle: workflow.ActivityHandle[Any], input: StartActivityInput | StartLocalActivityInput
) -> workflow.ActivityHandle[Any]:
    kinds = _missed_deadlines(input)
    if kinds:
        def recorded(task: workflow.ActivityHandle[Any]) -> None:
            if not task.cancelled() and task.exception() is None:
                for kind in kinds:
                    _count(workflow.metric_meter(), DEADLINES_MISSED,
                           "deadlines missed (recorded and escalated), by kind",
                           {"kind": kind})
        handle.add_done_callback(recorded)
    return handle


class _DecisionMetrics(WorkflowInboundInterceptor):
    # workflow.metric_meter() records nothing while a history is replayed, so a decision is
    # counted once, when it is made; validators do not run on replay at all.

    def init(self, outbound: WorkflowOutboundInterceptor) -> None:
        super().init(_AppendMetrics(outbound))

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
    """Counts decisions by command type, rejections by rule and missed deadlines by kind,
    in every workflow."""

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor]:
        return _DecisionMetrics


def record_projection_lag(meter: MetricMeter, lags: Mapping[str, tuple[int, float]]) -> None:
    seconds = meter.create_gauge_float(
        PROJECTION_LAG, "how long the oldest event a read model has not applied has waited "
        "since it was recorded (0: current)", "s")
    events = meter.create_gauge(
        PROJECTION_BEHIND, "events a read model has not applied yet (capped at 100000)")
    for name, (behind, age) in lags.items():
        labels = {"projection": name}
        seconds.with_additional_attributes(labels).set(age)
        events.with_additional_attributes(labels).set(behind)


def record_projection_applied(meter: MetricMeter, projection: str, events: int) -> None:
    """Events a read model applied (a counter: its rate is the projection's throughput)."""
    meter.create_counter(
        PROJECTION_APPLIED, "events applied by a read model (rate: its throughput)",
    ).with_additional_attributes({"projection": projection}).add(events)


def record_stage_ages(meter: MetricMeter, stages: Mapping[str, tuple[int, float]]) -> None:
    """Per stage of the open cases (the case list read model): how many, and how long the
    longest-waiting one has gone without a recorded event (a lower bound on its time in
    the stage). Stages no case is in any more are set to 0."""
    count = meter.create_gauge(CASES_OPEN, "open cases, by stage")
    age = meter.create_gauge_float(
        STAGE_AGE, "longest time an open case in the stage has gone without a recorded event",
        "s")
    for stage, (cases, seconds) in stages.items():
        labels = {"stage": stage}
        count.with_additional_attributes(labels).set(cases)
        age.with_additional_attributes(labels).set(seconds)


def record_unsent_notices(meter: MetricMeter, unsent: Mapping[str, tuple[int, float]]) -> None:
    """Per channel: notices queued or failed and not sent yet, and how long the oldest has
    waited (a relay that cannot post, a mail server that refuses: services/notice_relay.py).
    Channels with none are set to 0."""
    count = meter.create_gauge(NOTICES_UNSENT, "notices not sent yet, by channel")
    age = meter.create_gauge_float(
        NOTICE_AGE, "longest time a notice not sent yet has waited, by channel", "s")
    for channel, (notices, seconds) in unsent.items():
        labels = {"channel": channel}
        count.with_additional_attributes(labels).set(notices)
        age.with_additional_attributes(labels).set(seconds)


def record_api_request(meter: MetricMeter, method: str, route: str, status: int,
                       seconds: float) -> None:
    """One API request's latency, by method, route template (never a concrete path with
    ids in it) and status."""
    meter.create_histogram_float(
        API_DURATION, "HTTP API request latency, by method, route and status", "s",
    ).with_additional_attributes(
        {"method": method, "route": route, "status": str(status)}).record(seconds)
