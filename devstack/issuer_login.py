"""The local issuer's sign-in: OAuth 2 authorization code with PKCE (RFC 7636), for the
browser console and any other OIDC client on loopback.

``GET /authorize`` shows a page listing the people the issuer offers (the demo's cast,
each with their roles); picking one redirects back with a one-time code. ``POST /token``
exchanges the code for a signed ID token (audience: the client) and a signed access token
(audience: dueprocess), but only with the PKCE verifier whose S256 hash the client sent
first. The codes live in memory, once each, for a minute. Redirects go to loopback
addresses only: this issuer is a development tool, never a production IdP.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

AUTHORIZE_PATH = "/authorize"
TOKEN_PATH = "/token"
CODE_TTL_SECONDS = 60
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
SUBJECT = re.compile(r"[A-Za-z0-9._@-]{1,200}")


@dataclass(frozen=True)
class Person:
    """Someone the sign-in page offers: the token's subject, their roles, a label."""

    subject: str
    roles: tuple[str, ...]
    label: str


@dataclass(frozen=True)
class _Grant:
    client_id: str
    redirect_uri: str
    challenge: str
    nonce: str | None
    person: Person
    expires: float


class LoginError(Exception):
    """A refused authorization or token request: ``error`` is the OAuth error code."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


# mint(subject, roles, client_id, nonce) -> (access_token, id_token, expires_in)
Minter = Callable[[Person, str, str | None], tuple[str, str, int]]


def _one(params: Mapping[str, list[str]], name: str, *, required: bool = True) -> str:
    values = params.get(name, [])
    if len(values) > 1:
        raise LoginError("invalid_request", f"{name}: given more than once")
    if not values or not values[0]:
        if required:
            raise LoginError("invalid_request", f"{name}: required")
        return ""
    return values[0][:2000]


def _loopback(uri: str) -> str:
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or parts.hostname not in LOOPBACK:
        raise LoginError("invalid_request", "redirect_uri: the local issuer redirects to "
                         "loopback addresses only")
    return uri


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class Login:
    """The authorization-code flow's state: the people offered and the codes given out."""

    def __init__(self, people: Sequence[Person], mint: Minter,
                 any_roles: Sequence[str] = ()) -> None:
        self._people = {p.subject: p for p in people}
        # Anyone may also sign in by id in one of these roles (a demo run's respondent):
        # a development issuer, like anyone holding its key, can mint any identity.
        self._any_roles = sorted(any_roles)
        self._mint = mint
        self._codes: dict[str, _Grant] = {}
        self._lock = threading.Lock()

    def offer(self, people: Sequence[Person]) -> None:
        """Add people to the sign-in page (a demo run adds its own respondent)."""
        with self._lock:
            self._people.update({p.subject: p for p in people})

    @property
    def people(self) -> list[Person]:
        with self._lock:
            return list(self._people.values())

    def _request(self, params: Mapping[str, list[str]]) -> dict[str, str]:
        if _one(params, "response_type") != "code":
            raise LoginError("unsupported_response_type", "response_type: only code")
        if _one(params, "code_challenge_method") != "S256":
            raise LoginError("invalid_request", "code_challenge_method: PKCE with S256 is "
                             "required")
        return {"client_id": _one(params, "client_id"),
                "redirect_uri": _loopback(_one(params, "redirect_uri")),
                "state": _one(params, "state", required=False),
                "nonce": _one(params, "nonce", required=False),
                "code_challenge": _one(params, "code_challenge"),
                "scope": _one(params, "scope", required=False)}

    def page(self, params: Mapping[str, list[str]]) -> str:
        """The sign-in page for an authorization request."""
        request = self._request(params)
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in request.items())
        rows = "".join(
            f'<li><button type="submit" name="subject" value="{html.escape(p.subject)}">'
            f'{html.escape(p.label)}</button> <span class="roles">'
            f'{html.escape(", ".join(r.replace("_", " ") for r in p.roles))}</span></li>'
            for p in self.people)
        options = "".join(f'<option value="{html.escape(r)}">{html.escape(r)}</option>'
                          for r in self._any_roles)
        other = _OTHER.format(hidden=hidden + _fixed_fields(), options=options) \
            if self._any_roles else ""
        return _PAGE.format(hidden=hidden + _fixed_fields(), rows=rows, other=other,
                            client=html.escape(request["client_id"]))

    def authorize(self, params: Mapping[str, list[str]]) -> str:
        """The redirect (with a one-time code) for the person picked on the page."""
        request = self._request(params)
        with self._lock:
            person = self._people.get(_one(params, "subject")) or self._anyone(params)
            code = secrets.token_urlsafe(32)
            self._drop_expired()
            self._codes[code] = _Grant(
                client_id=request["client_id"], redirect_uri=request["redirect_uri"],
                challenge=request["code_challenge"], nonce=request["nonce"] or None,
                person=person, expires=time.monotonic() + CODE_TTL_SECONDS)
        answer = {"code": code} | ({"state": request["state"]} if request["state"] else {})
        sep = "&" if "?" in request["redirect_uri"] else "?"
        return request["redirect_uri"] + sep + urlencode(answer)

    def token(self, params: Mapping[str, list[str]]) -> dict[str, Any]:
        """Tokens for a code, checked against its client, redirect and PKCE verifier."""
        if _one(params, "grant_type") != "authorization_code":
            raise LoginError("unsupported_grant_type", "grant_type: only authorization_code")
        with self._lock:
            grant = self._codes.pop(_one(params, "code"), None)  # once, whatever happens
        if grant is None or grant.expires < time.monotonic():
            raise LoginError("invalid_grant", "code: unknown, used or expired")
        if _one(params, "client_id") != grant.client_id \
                or _one(params, "redirect_uri") != grant.redirect_uri:
            raise LoginError("invalid_grant", "client_id/redirect_uri: not those the code "
                             "was given to")
        verifier = _one(params, "code_verifier")
        if not hmac.compare_digest(_b64(hashlib.sha256(verifier.encode()).digest()),
                                   grant.challenge):
            raise LoginError("invalid_grant", "code_verifier: does not match the challenge")
        access, id_token, expires_in = self._mint(grant.person, grant.client_id, grant.nonce)
        return {"access_token": access, "id_token": id_token, "token_type": "Bearer",
                "expires_in": expires_in, "scope": "openid"}

    def _anyone(self, params: Mapping[str, list[str]]) -> Person:
        subject, role = _one(params, "subject"), _one(params, "role", required=False)
        if role not in self._any_roles or not SUBJECT.fullmatch(subject):
            raise LoginError("access_denied", "subject: not a person this issuer offers "
                             "(or role: not one it grants)")
        return Person(subject, (role,), subject)

    def _drop_expired(self) -> None:
        now = time.monotonic()
        for code in [c for c, g in self._codes.items() if g.expires < now]:
            del self._codes[code]


def _fixed_fields() -> str:
    return ('<input type="hidden" name="response_type" value="code">'
            '<input type="hidden" name="code_challenge_method" value="S256">')


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in - local issuer</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ font: 16px/1.5 system-ui, sans-serif; margin: 2rem auto; max-width: 40rem;
       color: #1a1a1a; background: #fff; }}
input, select {{ font: inherit; padding: .3rem; }}
button {{ font: inherit; padding: .4rem .8rem; margin: .2rem 0; border: 2px solid #1d4ed8;
         background: #1d4ed8; color: #fff; border-radius: 4px; cursor: pointer; }}
button:focus-visible {{ outline: 3px solid #b45309; outline-offset: 2px; }}
ul {{ list-style: none; padding: 0; }} .roles {{ color: #374151; }}
.note {{ color: #374151; font-size: .9rem; }}
</style></head><body>
<main><h1>Sign in to {client}</h1>
<p class="note">The local development issuer of dueprocess. Pick who you are; the tokens
are signed with this data dir's key. Never use it in production.</p>
<form method="post" action="/authorize">{hidden}
<ul>{rows}</ul></form>{other}</main></body></html>"""

_OTHER = """<h2>Someone else</h2>
<form method="post" action="/authorize">{hidden}
<p><label for="other-subject">Subject (id)</label>
<input id="other-subject" name="subject" required pattern="[A-Za-z0-9._@-]{{1,200}}">
<label for="other-role">Role</label> <select id="other-role" name="role">{options}</select>
<button type="submit">Sign in</button></p></form>"""
