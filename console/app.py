"""The console's ASGI app (mounted by api/app.py at /console)."""

from __future__ import annotations

from types import ModuleType

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from ..api.deps import ApiServices, Verifier
from ..domain.base import DomainError
from ..services.client import ClientError
from ..services.identity import IssuerUnavailable
from . import auditing, auth, casepage, report, stats_page, work
from .render import HERE, render, security_headers, url_for
from .session import CsrfRefused, SignInRequired
from .sessions import SessionKeys, Sessions
from .state import ConsoleConfig, ConsoleState

COOKIE = "dueprocess_console"
# Page modules, each with a ``router``; add yours here (see the package docstring).
PAGES: list[ModuleType] = [auth, work, casepage, report, auditing, stats_page]


class _CookiePerScheme:
    """The session cookie is Secure when the request came over https (the console is
    also served on plain loopback http in development)."""

    def __init__(self, app: ASGIApp, secret: str, max_age: int) -> None:
        kw = {"session_cookie": COOKIE, "max_age": max_age, "same_site": "lax", "path": "/"}
        self._secure = SessionMiddleware(app, secret, https_only=True, **kw)  # type: ignore[arg-type]
        self._plain = SessionMiddleware(app, secret, https_only=False, **kw)  # type: ignore[arg-type]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        chosen = self._secure if scope.get("scheme") == "https" else self._plain
        await chosen(scope, receive, send)


def create_console(services: ApiServices, verifier: Verifier,
                   config: ConsoleConfig | None = None) -> FastAPI:
    cfg = config or ConsoleConfig(issuer=getattr(verifier, "issuer", None))
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    keys = SessionKeys(cfg.session_secret)
    app.state.console = ConsoleState(services=services, verifier=verifier, config=cfg,
                                     sessions=Sessions(services.pool, keys, cfg.session_ttl),
                                     oauth=auth.oauth_registry(cfg))
    for module in PAGES:
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.middleware("http")(security_headers)
    app.add_middleware(_CookiePerScheme, secret=keys.cookie,
                       max_age=int(cfg.session_ttl.total_seconds()))

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, _: Exception) -> Response:
        return RedirectResponse(url_for(request, "/signin"), status_code=303)

    @app.exception_handler(IssuerUnavailable)
    async def _issuer(request: Request, _: Exception) -> Response:
        return render(request, None, "error.html", status=503, title="Sign-in unavailable",
                      message="The identity provider cannot be reached: try again shortly.")

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, _: Exception) -> Response:
        return render(request, None, "error.html", status=403, title="Form refused",
                      message="The form was not sent from this session (CSRF check). "
                              "Reload the page and try again.")

    @app.exception_handler(DomainError)
    async def _domain(request: Request, err: Exception) -> Response:
        assert isinstance(err, DomainError)
        return render(request, None, "error.html", status=403, title="Not allowed",
                      message=f"{err.message} (rule {err.rule})")

    @app.exception_handler(ClientError)
    async def _client(request: Request, err: Exception) -> Response:
        assert isinstance(err, ClientError)
        status = 404 if err.error_type == "NotFound" else 409
        return render(request, None, "error.html", status=status, title=err.error_type,
                      message=f"{err.message} (rule {err.rule})")

    return app
