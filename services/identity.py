"""Who is calling: an OIDC access token (JWT), verified, becomes a Principal.

Identity comes only from a token verified here, never from a request body. The token is
checked with PyJWT against the issuer's keys, found through OpenID Connect discovery
(``{issuer}/.well-known/openid-configuration`` -> ``jwks_uri``) and cached. A token
signed with a key id the cache does not know makes the verifier fetch the key set again
(at most once per ``refetch_interval``), so rotated keys are picked up without a restart
and a flood of made-up key ids cannot turn into a flood of requests to the IdP.

The signature algorithm is pinned to asymmetric ones and must fit the key's type, so
``alg: none`` and HS256-signed-with-the-public-key tokens are refused before any
signature check. Issuer, audience, expiry (and not-before) are always checked.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import httpx
import jwt
from jwt.exceptions import InvalidTokenError, PyJWKError

from ..domain.base import Actor, ActorKind, Model, NotPermitted
from ..domain.case.roles import DETECTOR
from ..domain.envelope import PrincipalRecord
from .roles import (
    AUDITOR,
    DPO,
    OPERATOR,
    TOKEN_ROLES,
    _check_targets,
    operator_actor,
    operator_principal,
    os_user,
    parse_role_map,
    roles_from,
)

__all__ = [
    "AUDITOR", "DPO", "LEEWAY", "OPERATOR", "TOKEN_ROLES", "IssuerUnavailable", "Principal",
    "TokenVerifier", "Unauthenticated", "is_client_credentials", "operator_actor",
    "operator_principal", "os_user", "parse_role_map", "roles_from",
]

# Asymmetric algorithms only, each with the key type it needs: a symmetric or "none"
# algorithm is refused before the key is even looked up.
_ALGORITHMS: Mapping[str, str] = {
    "RS256": "RSA", "RS384": "RSA", "RS512": "RSA",
    "PS256": "RSA", "PS384": "RSA", "PS512": "RSA",
    "ES256": "EC", "ES384": "EC", "ES512": "EC",
    "EdDSA": "OKP",
}
# Clock skew allowed between the IdP and us when judging exp/nbf/iat.
LEEWAY = timedelta(seconds=30)
_REQUIRED = ["exp", "iss", "aud", "sub"]


class Unauthenticated(Exception):
    """The caller is not authenticated. ``str(err)`` is the reason: one line that never
    repeats the token or its contents."""


class IssuerUnavailable(Unauthenticated):
    """The issuer's discovery document or keys could not be fetched: nobody can be
    authenticated right now (an API answers 503, not 401)."""


class Principal(Model):
    """An authenticated caller: the verified claims dueprocess relies on."""

    issuer: str
    subject: str
    token_id: str | None
    auth_time: datetime | None
    auth_method: str | None
    roles: frozenset[str]
    kind: Literal["person", "system"]

    def actor(self, role: str) -> Actor:
        """The actor for a command taken in ``role``, which the token must hold. The id is
        always the token's subject. A system principal acting as detector is an
        automated actor (the domain never lets one take an adverse step alone)."""
        if role not in self.roles:
            held = ", ".join(sorted(self.roles)) or "none"
            raise NotPermitted(f"the token does not grant the role {role!r} (it grants: {held})",
                               rule="role-from-token", field="actor.role")
        if self.kind == "person":
            kind = ActorKind.PERSON
        else:
            kind = ActorKind.AUTOMATED if role == DETECTOR else ActorKind.SYSTEM
        return Actor(id=self.subject, role=role, kind=kind)

    def record(self, request_id: str | None = None) -> PrincipalRecord:
        """What every event recorded on this principal's behalf carries."""
        return PrincipalRecord(issuer=self.issuer, subject=self.subject,
                               token_id=self.token_id, auth_time=self.auth_time,
                               auth_method=self.auth_method, request_id=request_id)


class TokenVerifier:
    """Verifies access tokens of one issuer for one audience.

    ``role_claim`` names the claim with the caller's roles (a dotted path reaches into
    objects: Keycloak's ``realm_access.roles``); it may hold a list or a space-separated
    string. Without ``role_map`` the dueprocess role names are taken as they are; with
    one, only the IdP roles it maps count (an IdP group that happens to be called "dpo"
    grants nothing unless mapped).
    """

    def __init__(self, issuer: str, audience: str, *, role_claim: str = "roles",
                 role_map: Mapping[str, str] | None = None,
                 refetch_interval: timedelta = timedelta(seconds=30),
                 cache_ttl: timedelta = timedelta(hours=1),
                 http: httpx.AsyncClient | None = None) -> None:
        if role_map is not None:
            _check_targets(role_map)
        self.issuer = issuer
        self.audience = audience
        self._role_claim = role_claim
        self._role_map = dict(role_map) if role_map is not None else None
        self._refetch_interval = refetch_interval.total_seconds()
        self._cache_ttl = cache_ttl.total_seconds()
        self._http = http
        self._keys: dict[str, dict[str, Any]] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()

    async def verify(self, token: str) -> Principal:
        if not token or not token.strip():
            raise Unauthenticated("no access token was presented")
        try:
            header = jwt.get_unverified_header(token)
        except InvalidTokenError:
            raise Unauthenticated("the access token is not a well-formed JWT") from None
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in _ALGORITHMS:
            raise Unauthenticated(f"token algorithm {str(alg)[:20]!r} is not accepted "
                                  f"(only {', '.join(_ALGORITHMS)})")
        kid = header.get("kid")
        jwk = await self._key(kid if isinstance(kid, str) else None)
        if jwk.get("kty") != _ALGORITHMS[alg] or jwk.get("alg", alg) != alg:
            raise Unauthenticated(f"token algorithm {alg} does not fit the issuer's key")
        try:
            key = jwt.PyJWK(jwk, algorithm=alg).key
            claims: dict[str, Any] = jwt.decode(
                token, key=key, algorithms=[alg], audience=self.audience,
                issuer=self.issuer, leeway=LEEWAY,
                options={"require": _REQUIRED, "verify_signature": True})
        except (InvalidTokenError, PyJWKError) as err:
            raise Unauthenticated(f"the access token was refused: {_reason(err)}") from None
        return self._principal(claims)

    # -- keys ------------------------------------------------------------------------------

    async def _key(self, kid: str | None) -> dict[str, Any]:
        async with self._lock:
            now = time.monotonic()
            stale = self._fetched_at is None or now - self._fetched_at > self._cache_ttl
            if stale or (kid not in self._keys and self._may_refetch(now)):
                await self._fetch()
            if kid is None and len(self._keys) == 1:
                return next(iter(self._keys.values()))
            if kid is None:
                raise Unauthenticated("the access token names no key id (kid)")
            found = self._keys.get(kid)
            if found is None:
                raise Unauthenticated("the access token is signed with a key the issuer "
                                      "does not publish")
            return found

    def _may_refetch(self, now: float) -> bool:
        return self._fetched_at is None or now - self._fetched_at >= self._refetch_interval

    async def _fetch(self) -> None:
        client = self._http or httpx.AsyncClient(timeout=10.0)
        try:
            discovery = await _get_json(
                client, self.issuer.rstrip("/") + "/.well-known/openid-configuration")
            if discovery.get("issuer") != self.issuer:
                raise IssuerUnavailable("the discovery document names another issuer")
            jwks_uri = discovery.get("jwks_uri")
            if not isinstance(jwks_uri, str):
                raise IssuerUnavailable("the discovery document has no jwks_uri")
            jwks = await _get_json(client, jwks_uri)
        finally:
            if self._http is None:
                await client.aclose()
        keys = jwks.get("keys")
        if not isinstance(keys, list):
            raise IssuerUnavailable("the issuer's JWKS has no keys")
        self._keys = {k["kid"]: k for k in keys
                      if isinstance(k, dict) and isinstance(k.get("kid"), str)
                      and k.get("use", "sig") == "sig"}
        if len(keys) == 1 and not self._keys and isinstance(keys[0], dict):
            self._keys = {"": keys[0]}  # a lone key without a kid
        self._fetched_at = time.monotonic()

    # -- claims ----------------------------------------------------------------------------

    def _principal(self, claims: Mapping[str, Any]) -> Principal:
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject.strip():
            raise Unauthenticated("the access token has no subject")
        return Principal(
            issuer=str(claims["iss"]),
            subject=subject,
            token_id=_text(claims.get("jti")),
            auth_time=_time(claims.get("auth_time")),
            auth_method=_auth_method(claims),
            roles=self._roles(claims),
            kind="system" if is_client_credentials(claims) else "person",
        )

    def _roles(self, claims: Mapping[str, Any]) -> frozenset[str]:
        value: Any = claims
        for step in self._role_claim.split("."):
            value = value.get(step) if isinstance(value, Mapping) else None
        names = value.split() if isinstance(value, str) else value
        given = {n for n in names if isinstance(n, str)} if isinstance(names, list) else set()
        if self._role_map is None:
            return frozenset(given & TOKEN_ROLES)
        return frozenset(self._role_map[n] for n in given if n in self._role_map)


def is_client_credentials(claims: Mapping[str, Any]) -> bool:
    """A token a service got for itself (OAuth client credentials), as IdPs say it:
    Entra ID ``idtyp: app``, Auth0 ``gty: client-credentials``, RFC 9068 (and the local
    issuer) ``sub`` equal to ``client_id``, Keycloak's ``service-account-`` user."""
    sub = claims.get("sub")
    username = claims.get("preferred_username")
    return (claims.get("idtyp") == "app"
            or claims.get("gty") == "client-credentials"
            or (sub is not None and sub == claims.get("client_id"))
            or (isinstance(username, str) and username.startswith("service-account-")))


def _auth_method(claims: Mapping[str, Any]) -> str | None:
    amr = claims.get("amr")
    if isinstance(amr, list) and amr:
        return "+".join(str(m) for m in amr)[:200]
    if is_client_credentials(claims):
        return "client_credentials"
    return _text(claims.get("acr"))


def _text(value: Any) -> str | None:
    return str(value)[:200] if isinstance(value, str | int) and str(value) else None


def _time(value: Any) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    return None


def _reason(err: Exception) -> str:
    """PyJWT's messages name the failed check and never echo the token; one line."""
    text = str(err).splitlines()[0] if str(err) else type(err).__name__
    return text[:200]


async def _get_json(client: httpx.AsyncClient, url: str) -> dict[str, Any]:
    try:
        response = await client.get(url, headers={"Accept": "application/json"})
        response.raise_for_status()
        body = response.json()
    except (httpx.HTTPError, ValueError) as err:
        raise IssuerUnavailable(f"cannot read {url}: {type(err).__name__}") from None
    if not isinstance(body, dict):
        raise IssuerUnavailable(f"{url} did not answer with a JSON object")
    return body
