"""Telemetry of one decision, on a real time-skipping worker with the real activities on
real PostgreSQL: its spans (client update -> workflow -> activity -> SQL) form one trace,
and the decision and a rejection are counted by command and rule."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from dueprocess.activities.notifications import NotificationActivities
from dueprocess.activities.store import EventStoreActivities
from dueprocess.devstack.demo import Story
from dueprocess.services.client import CommandRejected, DueProcessClient
from dueprocess.services.metrics import DECISIONS, REJECTIONS, DecisionMetricsInterceptor
from dueprocess.services.notifications import FileSink
from dueprocess.services.policyfile import load_policy_file
from dueprocess.services.telemetry import (
    TraceContextFilter,
    instrument_sql,
    metrics_config,
    projection_lag,
    setup_tracing,
    span_exporter,
    tracing_interceptor,
)
from dueprocess.store.eventstore import EventStore
from dueprocess.workflows.case import CaseWorkflow
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.client import Client
from temporalio.contrib.opentelemetry import ReplaySafeTracerProvider
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import (
    BUFFERED_METRIC_KIND_COUNTER,
    MetricBuffer,
    OpenTelemetryConfig,
    PrometheusConfig,
    Runtime,
    TelemetryConfig,
)
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

QUEUE = "telemetry-tests"


@pytest.fixture
def spans() -> Iterator[tuple[ReplaySafeTracerProvider, InMemorySpanExporter]]:
    # The workflow-side spans need the process's (replay-safe) provider: the one the worker
    # sets up, with an in-memory exporter added for the test.
    provider = setup_tracing({})
    exporter = InMemorySpanExporter()
    processor = SimpleSpanProcessor(exporter)
    provider.add_span_processor(processor)
    instrument_sql(provider)
    try:
        yield provider, exporter
    finally:
        AsyncPGInstrumentor().uninstrument()  # type: ignore[no-untyped-call]  # untyped library
        exporter.clear()  # the provider keeps the processor: it lives for the process


@pytest.fixture
async def traced(
    spans: tuple[ReplaySafeTracerProvider, InMemorySpanExporter], pool: asyncpg.Pool,
    tmp_path: Path, test_env: WorkflowEnvironment, load_rulebook: Any, load_reporter_record: Any,
    load_respondent_record: Any,
) -> AsyncIterator[tuple[Story, InMemorySpanExporter, MetricBuffer]]:
    _, exporter = spans
    buffer = MetricBuffer(10_000)
    client = await Client.connect(
        test_env.client.service_client.config.target_host, data_converter=pydantic_data_converter,
        interceptors=[tracing_interceptor()],
        runtime=Runtime(telemetry=TelemetryConfig(metrics=buffer)))
    store = EventStore(pool)
    notes = NotificationActivities(pool, store, FileSink(tmp_path / "outbox"), "t@localhost")
    activities = EventStoreActivities(store)
    async with Worker(
        client, task_queue=QUEUE, workflows=[CaseWorkflow],
        activities=[activities.append_events, activities.load_stream,
                    notes.dispatch_notifications, load_rulebook,
                    load_reporter_record, load_respondent_record],
        interceptors=[DecisionMetricsInterceptor()],
    ):
        yield Story(DueProcessClient(client, QUEUE), load_policy_file(None)), exporter, buffer
    gc.collect()  # the evicted workflows' coroutines close here, not in a later test


def _trace_of(exporter: InMemorySpanExporter, name: str) -> list[ReadableSpan]:
    started = [s for s in exporter.get_finished_spans() if s.name == name]
    assert started, f"no span {name!r} in {[s.name for s in exporter.get_finished_spans()]}"
    trace_id = started[-1].context.trace_id
    return [s for s in exporter.get_finished_spans() if s.context.trace_id == trace_id]


async def test_the_spans_of_one_decision_form_one_trace(
    traced: tuple[Story, InMemorySpanExporter, MetricBuffer],
) -> None:
    story, exporter, _ = traced
    await story.file()  # given an open case
    exporter.clear()

    await story.acknowledge_and_investigate()  # when decisions are made

    names = [s.name for s in _trace_of(exporter, "StartWorkflowUpdate:decide")]
    # then the first decision's trace runs from the client through the workflow and the
    # append activity down to the SQL statements it issued
    assert "HandleUpdate:decide" in names and "RunActivity:append_events" in names
    one = _trace_of(exporter, "StartWorkflowUpdate:decide")
    run_activity = next(s for s in one if s.name == "RunActivity:append_events")
    sql = [s for s in one if s.attributes and "db.system" in s.attributes]
    assert sql, names
    assert any(s.parent is not None and s.parent.span_id == run_activity.context.span_id
               for s in sql)
    # and no span carries personal data in its attributes (SQL parameters are not captured)
    assert all("The posts" not in str(s.attributes) for s in exporter.get_finished_spans())


async def test_decisions_and_rejections_are_counted_by_command_and_rule(
    traced: tuple[Story, InMemorySpanExporter, MetricBuffer],
) -> None:
    story, _, buffer = traced
    await story.file()
    with pytest.raises(CommandRejected) as rejected:
        await story.respond()  # no notice has been issued yet
    counted: dict[tuple[str, tuple[tuple[str, str], ...]], int] = {}
    for update in buffer.retrieve_updates():
        if update.metric.kind == BUFFERED_METRIC_KIND_COUNTER and update.metric.name in (
            DECISIONS, REJECTIONS,
        ):
            labels = tuple(sorted((k, str(v)) for k, v in update.attributes.items()
                                  if k in ("command", "rule")))
            key = (update.metric.name, labels)
            counted[key] = counted.get(key, 0) + int(update.value)
    assert counted[(DECISIONS, (("command", "FileReport"),))] == 1
    rule = rejected.value.rule
    assert rule is not None
    assert counted[(REJECTIONS, (("command", "SubmitResponse"), ("rule", rule)))]


async def test_projection_lag_is_zero_when_current_and_counts_unapplied_events(
    traced: tuple[Story, InMemorySpanExporter, MetricBuffer], pool: asyncpg.Pool,
) -> None:
    story, _, _ = traced
    async with pool.acquire() as conn:
        # given a read model that has applied everything so far (the published rulebook)
        await conn.execute(
            """INSERT INTO projection_checkpoints (name, tx_id, global_position)
               SELECT 'case_list', tx_id::text::bigint, global_position FROM events
                ORDER BY tx_id DESC, global_position DESC LIMIT 1""")
    assert await projection_lag(pool) == {"case_list": (0, 0.0)}
    await story.file()
    later = datetime.now(UTC) + timedelta(minutes=5)
    behind, seconds = (await projection_lag(pool, now=later))["case_list"]
    assert behind >= 1 and seconds >= 240


def test_exporters_follow_the_standard_variables() -> None:
    assert span_exporter({}) is None
    assert isinstance(span_exporter({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}),
                      OTLPSpanExporter)
    assert span_exporter({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318",
                          "OTEL_SDK_DISABLED": "true"}) is None
    assert metrics_config(None, {}) is None
    assert metrics_config("0.0.0.0:9464", {}) == PrometheusConfig(
        bind_address="0.0.0.0:9464", durations_as_seconds=True)
    config = metrics_config(None, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/",
                                   "OTEL_EXPORTER_OTLP_HEADERS": "api-key=k1,x=y"})
    assert isinstance(config, OpenTelemetryConfig)
    assert (config.url, config.http, config.headers) == (
        "http://collector:4318/v1/metrics", True, {"api-key": "k1", "x": "y"})
    grpc = metrics_config(None, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317",
                                 "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"})
    assert isinstance(grpc, OpenTelemetryConfig)
    assert (grpc.url, grpc.http) == ("http://collector:4317", False)


def test_log_records_carry_the_trace_id_of_their_span(
    spans: tuple[ReplaySafeTracerProvider, InMemorySpanExporter],
) -> None:
    provider, _ = spans
    record = logging.LogRecord("dueprocess", logging.INFO, __file__, 1, "hello", None, None)
    with provider.get_tracer("t").start_as_current_span("work") as span:
        TraceContextFilter().filter(record)
    assert record.__dict__["trace_id"] == format(span.get_span_context().trace_id, "032x")


def test_only_the_evicted_workflow_detach_noise_is_dropped() -> None:
    setup_tracing({})
    otel = logging.getLogger("opentelemetry.context")

    def record(context: BaseException | None) -> logging.LogRecord:
        error = ValueError("token was created in a different Context")
        error.__context__ = context
        return otel.makeRecord(otel.name, logging.ERROR, __file__, 1,
                               "Failed to detach context", (),
                               (ValueError, error, None))

    # Logger.filter asks each of the logger's filters in turn, as logging itself does
    assert not otel.filter(record(GeneratorExit()))
    assert otel.filter(record(None))
