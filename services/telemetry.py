"""Traces, metrics and trace-stamped logs, configured by the standard environment variables.

- Traces: exported over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT) is
  set; OTEL_EXPORTER_OTLP_PROTOCOL picks ``http/protobuf`` (the specification's default) or
  ``grpc``; headers, certificates and timeouts are read by the exporter itself. Workflow,
  activity and SQL spans nest in one trace (Temporal's TracingInterceptor carries the
  context through Temporal; the asyncpg instrumentation adds a span per statement, with
  the SQL text but never its parameters).
- Metrics: the Temporal SDK's runtime exports its own and the application's (services/
  metrics) on a Prometheus endpoint (DUEPROCESS_PROMETHEUS_ADDRESS) or over OTLP (the
  same variables as traces, ..._METRICS_ENDPOINT first).
- Logs: every record carries ``trace_id`` and ``span_id`` of the span it was logged in;
  DUEPROCESS_LOG_FORMAT=json writes one JSON object per line.

Only worker.py calls in here; nothing happens at import.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from temporalio.common import MetricMeter
from temporalio.contrib.opentelemetry import (
    OpenTelemetryInterceptor,
    ReplaySafeTracerProvider,
    create_tracer_provider,
)
from temporalio.runtime import (
    OpenTelemetryConfig,
    PrometheusConfig,
    Runtime,
    TelemetryConfig,
)

from ..domain.case import CaseStage
from ..store.db import Database
from ..store.projection_status import projection_lags, waited
from .metrics import record_projection_lag, record_stage_ages, record_unsent_notices

log = logging.getLogger("dueprocess.telemetry")
SERVICE = "dueprocess"


def _env(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def _protocol(env: Mapping[str, str], signal: str) -> str:
    return (_env(env, f"OTEL_EXPORTER_OTLP_{signal}_PROTOCOL")
            or _env(env, "OTEL_EXPORTER_OTLP_PROTOCOL") or "http/protobuf")


def _disabled(env: Mapping[str, str]) -> bool:
    return (_env(env, "OTEL_SDK_DISABLED") or "").lower() == "true"


def span_exporter(env: Mapping[str, str]) -> SpanExporter | None:
    """The OTLP span exporter the environment asks for, or None."""
    if _disabled(env) or (_env(env, "OTEL_TRACES_EXPORTER") or "otlp") == "none":
        return None
    if not (_env(env, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            or _env(env, "OTEL_EXPORTER_OTLP_ENDPOINT")):
        return None
    # Lazy: only the chosen transport is imported (grpc is heavy to load).
    if _protocol(env, "TRACES") == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        return OTLPSpanExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
        OTLPSpanExporter as HttpSpanExporter,
    )
    return HttpSpanExporter()


def tracing_interceptor() -> OpenTelemetryInterceptor:
    """Temporal's OpenTelemetry interceptor for the client (workers inherit it).

    The SDK's second-generation interceptor (marked experimental) rather than the older
    TracingInterceptor: it runs each update handler in the context of the client's update
    call, so a decision is one trace from the caller through the workflow to the activity
    and its SQL; the older one files workflow-side spans under the case's start and only
    links them to the decision."""
    return OpenTelemetryInterceptor(add_temporal_spans=True)


class _EvictedWorkflowDetach(logging.Filter):
    """Drops OpenTelemetry's "Failed to detach context" when a workflow's coroutine is closed
    by the garbage collector after the worker evicted it (cache pressure, shutdown): the
    span's context token belongs to the coroutine's own context, so detaching it from
    another fails, harmlessly. Every other detach failure is still logged. (Formatting that
    traceback inside the collector can also break a concurrent ast.parse on CPython 3.11.)"""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not (record.getMessage() == "Failed to detach context"
                    and isinstance(error, ValueError)
                    and isinstance(error.__context__, GeneratorExit))


def setup_tracing(env: Mapping[str, str]) -> ReplaySafeTracerProvider:
    """The process's tracer provider: set once, replay-safe (as the interceptor requires),
    with the OTLP exporter when configured and SQL spans from asyncpg whenever spans leave
    the process."""
    current = trace.get_tracer_provider()
    if isinstance(current, ReplaySafeTracerProvider):
        return current
    logging.getLogger("opentelemetry.context").addFilter(_EvictedWorkflowDetach())
    if isinstance(current, TracerProvider):
        raise RuntimeError("another OpenTelemetry tracer provider is already set")
    # Resource.create reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES.
    provider = create_tracer_provider(resource=Resource.create({"service.name": SERVICE}))
    exporter = span_exporter(env)
    if exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(exporter))
        instrument_sql(provider)
    trace.set_tracer_provider(provider)
    return provider


def instrument_sql(provider: trace.TracerProvider) -> None:
    instrumentor = AsyncPGInstrumentor()  # type: ignore[no-untyped-call]  # untyped library
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument(tracer_provider=provider)


# One runtime per metrics destination per process: a second Prometheus server on the same
# address could not bind, and each runtime owns threads.
_RUNTIMES: dict[tuple[str, ...], Runtime] = {}


def _headers(env: Mapping[str, str]) -> dict[str, str]:
    text = _env(env, "OTEL_EXPORTER_OTLP_METRICS_HEADERS") or _env(
        env, "OTEL_EXPORTER_OTLP_HEADERS") or ""
    pairs = (item.split("=", 1) for item in text.split(",") if "=" in item)
    return {key.strip(): value.strip() for key, value in pairs}


def metrics_config(
    prometheus_address: str | None, env: Mapping[str, str]
) -> PrometheusConfig | OpenTelemetryConfig | None:
    if prometheus_address:
        return PrometheusConfig(bind_address=prometheus_address, durations_as_seconds=True)
    if _disabled(env) or (_env(env, "OTEL_METRICS_EXPORTER") or "otlp") == "none":
        return None
    http = _protocol(env, "METRICS").startswith("http")
    url = _env(env, "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")
    if url is None and (base := _env(env, "OTEL_EXPORTER_OTLP_ENDPOINT")):
        url = base.rstrip("/") + "/v1/metrics" if http else base
    if url is None:
        return None
    return OpenTelemetryConfig(url=url, headers=_headers(env), http=http,
                               durations_as_seconds=True)


def temporal_runtime(prometheus_address: str | None, env: Mapping[str, str]) -> Runtime:
    """The SDK runtime exporting metrics as configured (the default runtime otherwise)."""
    config = metrics_config(prometheus_address, env)
    if config is None:
        return Runtime.default()
    key = (type(config).__name__, repr(config))
    if key not in _RUNTIMES:
        _RUNTIMES[key] = Runtime(telemetry=TelemetryConfig(
            metrics=config, global_tags={"service_name": SERVICE}))
    return _RUNTIMES[key]


# -- projection lag ----------------------------------------------------------------------

# Events a read model has not applied yet are counted up to a cap: one index range scan.
_LAG_CAP = 100_000


async def projection_lag(
    pool: Database, now: datetime | None = None
) -> dict[str, tuple[int, float]]:
    """Per read model: (events not applied yet, seconds the oldest of them has waited
    since it was recorded; 0 when current). Not the time since the checkpoint last moved:
    under sustained load it moves all the time however far behind it is."""
    now = now or datetime.now(UTC)
    async with pool.acquire() as conn:
        rows = await projection_lags(conn, cap=_LAG_CAP)
    return {r["name"]: (int(r["behind"]), waited(r, now) if r["behind"] else 0.0)
            for r in rows}


async def stage_ages(
    pool: Database, now: datetime | None = None
) -> dict[str, tuple[int, float]]:
    """Per stage of an open case: (cases in it, seconds the longest-waiting one has been in
    that stage), from the case list read model; every stage is present. Rows projected
    before stage_entered_at existed (migration 0018) count from their last event instead."""
    now = now or datetime.now(UTC)
    rows = await pool.fetch(
        """SELECT stage, count(*) AS cases,
                   min(coalesce(stage_entered_at, updated_at)) AS oldest FROM case_list
            WHERE stage <> $1 GROUP BY stage""", str(CaseStage.CLOSED))
    found = {str(s): (0, 0.0) for s in CaseStage if s is not CaseStage.CLOSED}
    for r in rows:
        found[r["stage"]] = (int(r["cases"]), max(0.0, (now - r["oldest"]).total_seconds()))
    return found


async def unsent_notices(
    pool: Database, now: datetime | None = None, channels: Sequence[str] = ("file", "smtp"),
) -> dict[str, tuple[int, float]]:
    """Per channel: (notices not sent yet, seconds the oldest has waited); every channel in
    ``channels`` is present. Reads the outbox's unsent rows only (a partial index)."""
    now = now or datetime.now(UTC)
    rows = await pool.fetch(
        """SELECT channel, count(*) AS notices, min(created_at) AS oldest FROM outbox
            WHERE sent_at IS NULL GROUP BY channel""")
    found = dict.fromkeys(channels, (0, 0.0))
    for r in rows:
        found[r["channel"]] = (int(r["notices"]),
                               max(0.0, (now - r["oldest"]).total_seconds()))
    return found


async def report_projection_lag(
    pool: Database, meter: MetricMeter, stop: asyncio.Event, interval: float = 15.0
) -> None:
    """The read models' metrics, every ``interval`` seconds: projection lag, stage ages,
    notices not sent yet."""
    while not stop.is_set():
        try:
            record_projection_lag(meter, await projection_lag(pool))
            record_stage_ages(meter, await stage_ages(pool))
            record_unsent_notices(meter, await unsent_notices(pool))
        except Exception:  # a metric must never stop the worker
            log.warning("read model metrics not measured", exc_info=True)
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval)
        except TimeoutError:
            pass


# -- logs --------------------------------------------------------------------------------


class TraceContextFilter(logging.Filter):
    """Stamps each record with the current span's ids (empty outside a span)."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = trace.get_current_span().get_span_context()
        record.trace_id = format(context.trace_id, "032x") if context.is_valid else ""
        record.span_id = format(context.span_id, "016x") if context.is_valid else ""
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname, "logger": record.name, "message": record.getMessage(),
            "trace_id": getattr(record, "trace_id", ""), "span_id": getattr(record, "span_id", ""),
        }
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        return json.dumps(document, ensure_ascii=False)


class _TextWithTrace(logging.Formatter):
    """The handler's own text format, plus the trace id when logged inside a span."""

    def __init__(self, inner: logging.Formatter | None) -> None:
        super().__init__()
        self._inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        text = self._inner.format(record)
        trace_id = getattr(record, "trace_id", "")
        return f"{text} trace_id={trace_id}" if trace_id else text


def setup_logging(json_lines: bool) -> None:
    """Trace ids on every handler of the root logger; JSON lines when asked."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.WARNING)
    for handler in root.handlers:
        if any(isinstance(f, TraceContextFilter) for f in handler.filters):
            continue
        handler.addFilter(TraceContextFilter())
        handler.setFormatter(JsonFormatter() if json_lines else _TextWithTrace(handler.formatter))
