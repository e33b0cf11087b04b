"""Signing in and out: OIDC authorization code with PKCE (S256) through authlib.

The ID token is checked by authlib (signature, issuer, audience, nonce); the access token
is then verified by the API's own verifier and only it is kept (sealed, in the
database: sessions.py), so the
console acts exactly as the API would for the same token.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ..services.identity import Unauthenticated
from .render import render, url_for
from .session import SESSION_KEY, ViewerDep, checked_form
from .state import ConsoleConfig, console

if TYPE_CHECKING:
    from authlib.integrations.starlette_client import OAuth

router = APIRouter()
PROVIDER = "dueprocess"


def _authlib() -> tuple[type[OAuth], type[Exception]]:
    """authlib's OAuth registry and error, loaded when a console is created (see
    LAZY_IMPORTS in tests/test_architecture.py): importing its starlette client warns
    that authlib's httpx module is deprecated, and every CLI command imports the API."""
    with warnings.catch_warnings():
        # authlib.deprecate asks for its warnings "always" when imported: ignore them
        # after that, during this import only.
        import authlib.deprecate  # noqa: F401
        warnings.simplefilter("ignore")
        from authlib.integrations.base_client import OAuthError
        from authlib.integrations.starlette_client import OAuth
    return OAuth, OAuthError


def oauth_registry(config: ConsoleConfig) -> OAuth | None:
    """authlib's client for the issuer (discovery read on first use), or None."""
    if config.issuer is None:
        return None
    oauth = _authlib()[0]()
    oauth.register(
        PROVIDER, client_id=config.client_id,
        server_metadata_url=config.issuer.rstrip("/") + "/.well-known/openid-configuration",
        client_kwargs={"scope": "openid", "code_challenge_method": "S256",
                       "token_endpoint_auth_method": "none"})
    return oauth


def _client(request: Request) -> Any:
    oauth = console(request).oauth
    return None if oauth is None else oauth.create_client(PROVIDER)


@router.get("/", include_in_schema=False)
async def home(request: Request) -> Response:
    return RedirectResponse(url_for(request, "/work"), status_code=303)


@router.get("/signin", include_in_schema=False)
async def sign_in(request: Request) -> Response:
    client = _client(request)
    if client is None:
        return render(request, None, "signin.html", status=503,
                      problem="No OIDC issuer is configured for the console.")
    if request.query_params.get("start") != "1":
        return render(request, None, "signin.html", problem=None)
    redirect_uri = str(request.url.replace(path=url_for(request, "/callback"), query=""))
    try:
        response: Response = await client.authorize_redirect(request, redirect_uri)
    except (httpx.HTTPError, _authlib()[1]) as err:  # discovery unreachable or unusable
        return render(request, None, "signin.html", status=503,
                      problem=f"The identity provider cannot be reached ({type(err).__name__}).")
    return response


@router.get("/callback", include_in_schema=False)
async def callback(request: Request) -> Response:
    client = _client(request)
    state = console(request)
    if client is None:
        return render(request, None, "signin.html", status=503,
                      problem="No OIDC issuer is configured for the console.")
    try:
        token = await client.authorize_access_token(request)
        principal = await state.verifier.verify(str(token.get("access_token", "")))
    except (_authlib()[1], Unauthenticated) as err:
        return render(request, None, "signin.html", status=401,
                      problem=f"Sign-in failed: {str(err)[:200]}")
    userinfo = token.get("userinfo") or {}
    if userinfo.get("sub") != principal.subject:
        return render(request, None, "signin.html", status=401,
                      problem="Sign-in failed: the ID token and the access token disagree.")
    expires = token.get("expires_at")
    request.session.clear()
    request.session[SESSION_KEY] = await state.sessions.open(
        str(token["access_token"]), float(expires) if expires else None)
    return RedirectResponse(url_for(request, "/work"), status_code=303)


@router.post("/signout", include_in_schema=False)
async def sign_out(request: Request, who: ViewerDep) -> Response:
    await checked_form(request, who)
    await console(request).sessions.close(who.sid)
    request.session.clear()
    return RedirectResponse(url_for(request, "/signin"), status_code=303)


@router.post("/role", include_in_schema=False)
async def pick_role(request: Request, who: ViewerDep) -> Response:
    """Act in another of the token's roles (refused unless the token holds it)."""
    form = await checked_form(request, who)
    role = form.get("role")
    if isinstance(role, str) and role in who.principal.roles:
        await console(request).sessions.pick_role(who.sid, role)
    return RedirectResponse(url_for(request, "/work"), status_code=303)

