"""Templates and the security headers every console response carries."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import Request, Response
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from .session import Viewer
from .timefmt import countdown

HERE = Path(__file__).parent
ENV = Environment(loader=FileSystemLoader(HERE / "templates"),
                  autoescape=select_autoescape(default=True), trim_blocks=True,
                  lstrip_blocks=True)
ENV.globals["countdown"] = countdown
# (path under /console, label): the navigation bar; page modules may append.
NAV: list[tuple[str, str]] = [("/work", "My work"), ("/audit", "Audit"), ("/stats", "Statistics")]
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def url_for(request: Request, path: str) -> str:
    """A console URL (``path`` relative to where the console is mounted)."""
    return str(request.scope.get("root_path", "")).rstrip("/") + path


def render(request: Request, viewer: Viewer | None, template: str, status: int = 200,
           **context: Any) -> HTMLResponse:
    def csrf_field() -> Markup:
        token = viewer.csrf if viewer is not None else ""
        return Markup('<input type="hidden" name="csrf" value="{}">').format(token)

    page = ENV.get_template(template).render(
        viewer=viewer, csrf_field=csrf_field, url=lambda p: url_for(request, p), nav=NAV,
        here=request.url.path, **context)
    return HTMLResponse(page, status_code=status)


async def security_headers(request: Request,
                           call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    response = await call_next(request)
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if not request.url.path.startswith(url_for(request, "/static")):
        response.headers["Cache-Control"] = "no-store"
    return response
