"""Every API request traced and timed.

- A server span per request (OpenTelemetry's ASGI instrumentation), current while the
  handler runs, so the Temporal client's update (TracingInterceptor) and everything the
  worker does for it join the request's trace: API request -> workflow -> activity -> SQL.
  An incoming ``traceparent`` header continues the caller's trace.
- The request's latency, by method, route template and status, on the Temporal SDK's
  metric meter (services/metrics.py), so it leaves with the other metrics.
"""

from __future__ import annotations

import time

from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.common import MetricMeter

from ..services.metrics import record_api_request

# Probes would drown the traces: they are neither traced nor timed.
UNTRACED = "healthz,readyz,livez"


def _route(scope: Scope) -> str:
    # Starlette leaves the matched route in the scope; a path matching no route is not
    # reported by its text (it could carry anything).
    route = scope.get("route")
    return str(getattr(route, "path", None) or "unmatched")


class _Timed:
    def __init__(self, app: ASGIApp, meter: MetricMeter) -> None:
        self.app = app
        self.meter = meter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.monotonic()

        async def seen(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, seen)
        finally:
            record_api_request(self.meter, scope.get("method", "?"), _route(scope), status,
                               time.monotonic() - started)


def observed(app: ASGIApp, meter: MetricMeter | None) -> ASGIApp:
    """``app`` traced (always; spans go nowhere until a tracer provider is set) and timed
    (when a meter is given)."""
    timed = app if meter is None else _Timed(app, meter)
    traced: ASGIApp = OpenTelemetryMiddleware(
        timed, excluded_urls=UNTRACED, exclude_spans=["receive", "send"])
    return traced
