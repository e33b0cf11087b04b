"""The local issuer's authorization-code flow: PKCE, one-time codes, loopback redirects
(given / when / then), over real HTTP."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import AsyncIterator
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from dueprocess.devstack.cast import staff_cast
from dueprocess.devstack.issuer import LocalIssuer
from dueprocess.services.identity import TokenVerifier

CLIENT = "test-client"
REDIRECT = "http://127.0.0.1:9/callback"
VERIFIER = "a-pkce-verifier-that-is-long-enough-to-count-0123456789"


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@pytest.fixture
async def issuer(tmp_path: Path) -> AsyncIterator[LocalIssuer]:
    local = LocalIssuer(tmp_path / "issuer", people=staff_cast())
    await local.start()
    yield local
    await local.stop()


def _authorize(redirect: str = REDIRECT) -> dict[str, str]:
    return {"response_type": "code", "client_id": CLIENT, "redirect_uri": redirect,
            "state": "s1", "nonce": "n1", "code_challenge": _challenge(VERIFIER),
            "code_challenge_method": "S256", "scope": "openid"}


async def _code(http: httpx.AsyncClient, issuer: LocalIssuer, subject: str) -> str:
    page = await http.get(f"{issuer.url}/authorize", params=_authorize())
    assert page.status_code == 200 and subject in page.text
    form = {k: unescape(v) for k, v in re.findall(r'name="([^"]+)" value="([^"]*)"',
                                                   page.text)}
    answer = await http.post(f"{issuer.url}/authorize", data=form | {"subject": subject})
    assert answer.status_code == 303
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    assert query["state"] == ["s1"]
    return query["code"][0]


def _exchange(code: str, verifier: str = VERIFIER) -> dict[str, str]:
    return {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
            "client_id": CLIENT, "code_verifier": verifier}


async def test_a_code_with_its_verifier_gives_tokens_the_api_verifies(
        issuer: LocalIssuer) -> None:
    async with httpx.AsyncClient() as http:
        # given a code for the case officer
        code = await _code(http, issuer, "staff-amira")
        # when it is exchanged with the PKCE verifier
        tokens = (await http.post(f"{issuer.url}/token", data=_exchange(code))).json()
    # then the access token is the API's, and the ID token the client's, with its nonce
    assert issuer.url is not None
    who = await TokenVerifier(issuer.url, "dueprocess").verify(tokens["access_token"])
    assert who.subject == "staff-amira" and who.roles == {"case_officer"}
    claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    assert claims["aud"] == CLIENT and claims["nonce"] == "n1"


async def test_a_wrong_verifier_or_a_reused_code_is_refused(issuer: LocalIssuer) -> None:
    async with httpx.AsyncClient() as http:
        # given a code
        code = await _code(http, issuer, "staff-tom")
        # when it is exchanged without the right verifier
        wrong = await http.post(f"{issuer.url}/token", data=_exchange(code, "not-it"))
        # then it is refused, and the code is spent
        assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
        again = await http.post(f"{issuer.url}/token", data=_exchange(code))
        assert again.status_code == 400 and "code" in again.json()["error_description"]


async def test_only_loopback_redirects_and_pkce_requests_are_served(
        issuer: LocalIssuer) -> None:
    async with httpx.AsyncClient() as http:
        # when a request redirects elsewhere, or comes without PKCE
        away = await http.get(f"{issuer.url}/authorize",
                              params=_authorize("https://evil.example/cb"))
        plain = await http.get(f"{issuer.url}/authorize", params={
            k: v for k, v in _authorize().items() if not k.startswith("code_challenge")})
    # then both are refused, naming the field
    assert away.status_code == 400 and "redirect_uri" in away.json()["error_description"]
    assert plain.status_code == 400 and "code_challenge" in plain.json()["error_description"]
