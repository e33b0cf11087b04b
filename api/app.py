"""The HTTP API's app factory: routes, problem responses, limits, and the OpenAPI
document generated from the same pydantic models the domain uses."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.types import ASGIApp

from ..console.app import create_console
from ..console.state import ConsoleConfig
from . import cases, codec, feed, imports, problems, records
from .deps import ApiConfig, ApiServices, Verifier
from .limits import Limits
from .observe import observed
from .schemas import body_schemas

TITLE = "dueprocess"
VERSION = "1"
DESCRIPTION = (
    "The HTTP API of dueprocess. Every request carries an OIDC access token "
    "(`Authorization: Bearer ...`); the actor is the token's subject, acting in one of its "
    "roles (pick it with `X-Dueprocess-Role` when the token holds several). Errors are "
    "RFC 9457 `application/problem+json` naming the rule and the field.")
_PROBLEM = {"description": "a problem (RFC 9457)", "content": {
    "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: _PROBLEM for status in (401, 403, 404, 409, 413, 422, 503)}


def openapi_document(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document, with the command bodies' schemas (which handlers read
    themselves, so the actor can come from the token)."""
    if app.openapi_schema is None:
        document = get_openapi(title=TITLE, version=VERSION, description=DESCRIPTION,
                               routes=app.routes, separate_input_output_schemas=False)
        components = document.setdefault("components", {}).setdefault("schemas", {})
        components.update(body_schemas())
        components["Problem"] = problems.Problem.model_json_schema(
            ref_template="#/components/schemas/{model}")
        components.update(components["Problem"].pop("$defs", {}))
        app.openapi_schema = document
    return app.openapi_schema


def fastapi_app(services: ApiServices, verifier: Verifier,
                config: ApiConfig | None = None,
                console: ConsoleConfig | None = None) -> FastAPI:
    """The routes and problem responses, without the outer layers (see create_app); the
    browser console is mounted at /console (signing in with ``console.issuer``, by default
    the verifier's issuer)."""
    app = routes_app(services, verifier, config)
    app.mount("/console", create_console(services, verifier, console))
    return app


def routes_app(services: ApiServices, verifier: Verifier,
               config: ApiConfig | None = None) -> FastAPI:
    """The API's routes alone: what the OpenAPI document describes (the console, a mounted
    app, is not in it), so the document can be generated without services."""
    app = FastAPI(title=TITLE, version=VERSION, description=DESCRIPTION,
                  responses=ERROR_RESPONSES, separate_input_output_schemas=False)
    app.state.services = services
    app.state.verifier = verifier
    app.state.config = config or ApiConfig()
    problems.install(app)
    for module in (cases, records, feed, imports, codec):
        app.include_router(module.router)
    app.openapi = lambda: openapi_document(app)  # type: ignore[method-assign]
    return app


def create_app(services: ApiServices, verifier: Verifier,
               config: ApiConfig | None = None,
               console: ConsoleConfig | None = None) -> ASGIApp:
    """The ASGI app: ``services`` to act on, ``verifier`` for access tokens; each request
    traced and timed, the codec routes open to the Temporal UI's origins, every request
    within the body size and time limits."""
    cfg = config or ApiConfig()
    limited = Limits(fastapi_app(services, verifier, cfg, console),
                     max_body_bytes=cfg.max_body_bytes, timeout_seconds=cfg.timeout_seconds)
    return observed(codec.with_codec_cors(limited, cfg.codec_origins), services.meter)
