"""Telemetry of decisions sent through the HTTP API, over real HTTP with real tokens, a real
worker on the time-skipping server and real PostgreSQL: one decision is one trace from the
API request down to its SQL, and the application's metrics (decisions, missed deadlines,
stage ages, API latency) are recorded on the SDK's metric meter."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from dueprocess.devstack.issuer import LocalIssuer
from dueprocess.domain.streams import case_stream
from dueprocess.services.metrics import (
    API_DURATION,
    CASES_OPEN,
    DEADLINES_MISSED,
    DECISIONS,
    NOTICE_AGE,
    NOTICES_UNSENT,
    STAGE_AGE,
    DecisionMetricsInterceptor,
    record_stage_ages,
    record_unsent_notices,
)
from dueprocess.services.telemetry import (
    instrument_sql,
    setup_tracing,
    stage_ages,
    tracing_interceptor,
    unsent_notices,
)
from dueprocess.store.projections import ProjectionRunner, default_projections
from fixtures.case_examples import example_policy
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from temporalio.client import Client
from temporalio.common import MetricMeter
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import MetricBuffer, Runtime, TelemetryConfig
from temporalio.testing import WorkflowEnvironment

from .conftest import Api, serving
from .test_api import OFFICER, _file, _officer


@dataclass
class Observed:
    api: Api
    spans: InMemorySpanExporter
    metrics: MetricBuffer
    meter: MetricMeter


@pytest.fixture
async def observed(env: WorkflowEnvironment, pool: asyncpg.Pool, tmp_path: Path,
                   load_rulebook: Any, load_reporter_record: Any, load_respondent_record: Any,
                   issuer: LocalIssuer) -> AsyncIterator[Observed]:
    # The process's replay-safe provider (as the worker sets it up), with an in-memory
    # exporter added for the test; the API's client carries the tracing interceptor and a
    # runtime whose metrics land in a buffer the test reads.
    provider = setup_tracing({})
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrument_sql(provider)
    buffer = MetricBuffer(10_000)
    runtime = Runtime(telemetry=TelemetryConfig(metrics=buffer))
    temporal = await Client.connect(
        env.client.service_client.config.target_host, data_converter=pydantic_data_converter,
        interceptors=[tracing_interceptor()], runtime=runtime)
    try:
        async with serving(env, temporal, pool, tmp_path,
                           [load_rulebook, load_reporter_record, load_respondent_record], issuer,
                           interceptors=[DecisionMetricsInterceptor()],
                           meter=runtime.metric_meter) as api:
            yield Observed(api, exporter, buffer, runtime.metric_meter)
    finally:
        AsyncPGInstrumentor().uninstrument()  # type: ignore[no-untyped-call]  # untyped library
        exporter.clear()
        gc.collect()  # the evicted workflows' coroutines close here, not in a later test


def _ancestors(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> list[ReadableSpan]:
    found = []
    while span.parent is not None and span.parent.span_id in by_id:
        span = by_id[span.parent.span_id]
        found.append(span)
    return found


def _one_trace(exporter: InMemorySpanExporter, name: str) -> list[ReadableSpan]:
    finished = exporter.get_finished_spans()
    started = [s for s in finished if s.name == name]
    assert started, f"no span {name!r} in {[s.name for s in finished]}"
    trace_id = started[-1].context.trace_id
    return [s for s in finished if s.context.trace_id == trace_id]


async def test_a_decision_sent_through_the_api_is_one_trace_down_to_its_sql(
    observed: Observed,
) -> None:
    api, exporter = observed.api, observed.spans
    # Given a case filed through the API
    case_id, _ = await _file(api)
    exporter.clear()
    # When an officer acknowledges it through the API
    response = await _officer(api, case_id, {
        "type": "AcknowledgeReport", "authority": "Rulebook s.3.2"})
    assert response.status_code == 200, response.text
    # Then the request, the client's update, the workflow's handling, the append activity
    # and its SQL statements are one trace, rooted at the API's server span (which ends
    # just after the response is sent: wait for it)
    while True:
        one = _one_trace(exporter, "StartWorkflowUpdate:decide")
        if any(s.parent is None for s in one):
            break
        await asyncio.sleep(0.05)
    by_id = {s.context.span_id: s for s in one}
    names = [s.name for s in one]
    assert "HandleUpdate:decide" in names and "RunActivity:append_events" in names, names
    [root] = [s for s in one if s.parent is None]
    assert root.kind is SpanKind.SERVER and root.name.startswith("POST"), root
    assert root.attributes and any(
        v == f"/cases/{case_id}/commands" for v in root.attributes.values()), root.attributes
    update = next(s for s in one if s.name == "StartWorkflowUpdate:decide")
    assert root in _ancestors(update, by_id)
    run_activity = next(s for s in one if s.name == "RunActivity:append_events")
    sql = [s for s in one if s.attributes and "db.system" in s.attributes
           and s.parent is not None and s.parent.span_id == run_activity.context.span_id]
    assert sql, names
    # the SQL hangs, span by span, from the request
    assert root in _ancestors(sql[0], by_id), [
        (s.name, s.parent and s.parent.span_id in by_id) for s in one]
    # and no span carries personal data or the token
    text = str([s.attributes for s in exporter.get_finished_spans()])
    assert "Bearer" not in text and "The posts" not in text


def _updates(buffer: MetricBuffer, name: str) -> list[Any]:
    return [u for u in buffer.retrieve_updates() if u.metric.name == name]


async def test_api_latency_decisions_and_missed_deadlines_are_measured(
    observed: Observed,
) -> None:
    api, buffer = observed.api, observed.metrics
    seen: list[Any] = []
    # Given a case filed through the API, and a request for a case that does not exist
    case_id, _ = await _file(api)
    await api.http.get("/cases/nope", headers=api.auth(OFFICER, "case_officer"))
    seen += buffer.retrieve_updates()
    # When nobody acknowledges it in time
    await api.env.sleep(timedelta(days=60))
    # (counted once the worker has recorded the DeadlineMissed event)
    while True:
        seen += buffer.retrieve_updates()
        if any(u.metric.name == DEADLINES_MISSED for u in seen):
            break
        await asyncio.sleep(0.1)
    assert "DeadlineMissed" in [e.event_type for e in
                                await api.store.read_stream(case_stream(case_id))]
    # Then each request's latency is recorded by route template and status (no ids)
    timings = {(u.attributes["method"], u.attributes["route"], u.attributes["status"])
               for u in seen if u.metric.name == API_DURATION}
    assert ("POST", "/cases", "201") in timings
    assert ("GET", "/cases/{case_id}", "404") in timings
    assert all(case_id not in route for _, route, _ in timings)
    # and the decision is counted, and the missed deadline by its kind
    assert any(u.metric.name == DECISIONS and u.attributes["command"] == "FileReport"
               for u in seen)
    missed = [u for u in seen if u.metric.name == DEADLINES_MISSED]
    assert "acknowledge" in {u.attributes["kind"] for u in missed}, missed


async def test_stage_ages_come_from_the_case_list(
    observed: Observed, pool: asyncpg.Pool,
) -> None:
    api, buffer = observed.api, observed.metrics
    # Given two cases filed, the read model caught up
    await _file(api, key="k-1")
    await _file(api, key="k-2")
    await ProjectionRunner(pool, api.store, default_projections(example_policy())).catch_up()
    # When the ages are measured an hour later
    later = datetime.now(UTC) + timedelta(hours=1)
    ages = await stage_ages(pool, now=later)
    record_stage_ages(observed.meter, ages)
    # Then both wait in "reported", the oldest for about an hour; other stages are empty
    cases, seconds = ages["reported"]
    assert cases == 2 and 3000 < seconds < 7200
    assert ages["under_investigation"] == (0, 0.0) and "closed" not in ages
    gauges = {(u.metric.name, u.attributes["stage"]): u.value
              for u in buffer.retrieve_updates() if u.metric.name in (CASES_OPEN, STAGE_AGE)}
    assert gauges[(CASES_OPEN, "reported")] == 2
    assert gauges[(STAGE_AGE, "reported")] == seconds


async def test_unsent_notices_are_measured_by_channel(
    observed: Observed, pool: asyncpg.Pool,
) -> None:
    # Given two notices queued for the file outbox, one of them sent, and none for SMTP
    await pool.execute(
        """INSERT INTO outbox (notification_id, case_id, caused_by, recipient_role, channel,
                               created_at, sent_at)
           VALUES ('n-1', 'c-1', gen_random_uuid(), 'respondent', 'file',
                   now() - interval '10 minutes', NULL),
                  ('n-2', 'c-1', gen_random_uuid(), 'complainant', 'file', now(), now())""")
    # When they are measured
    unsent = await unsent_notices(pool)
    record_unsent_notices(observed.meter, unsent)
    # Then the file channel has one waiting about ten minutes, SMTP none
    notices, seconds = unsent["file"]
    assert notices == 1 and 590 < seconds < 700
    assert unsent["smtp"] == (0, 0.0)
    gauges = {(u.metric.name, u.attributes["channel"]): u.value
              for u in observed.metrics.retrieve_updates()
              if u.metric.name in (NOTICES_UNSENT, NOTICE_AGE)}
    assert gauges[(NOTICES_UNSENT, "file")] == 1 and gauges[(NOTICES_UNSENT, "smtp")] == 0
