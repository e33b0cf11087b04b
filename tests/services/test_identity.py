"""Identity from a verified token: real tokens from the local issuer, verified over real
HTTP on loopback by the same code that verifies a production IdP's."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import stat
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from dueprocess.devstack.issuer import KEY_FILE, IssuerKeyError, LocalIssuer, serving
from dueprocess.domain.base import ActorKind, NotPermitted
from dueprocess.services.identity import (
    IssuerUnavailable,
    TokenVerifier,
    Unauthenticated,
    parse_role_map,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


@pytest.fixture
async def issuer(tmp_path: Path) -> AsyncIterator[LocalIssuer]:
    local = LocalIssuer(tmp_path / "data")
    await local.start()
    yield local
    await local.stop()


@pytest.fixture
def verifier(issuer: LocalIssuer) -> TokenVerifier:
    assert issuer.url is not None
    return TokenVerifier(issuer.url, "dueprocess", refetch_interval=timedelta(0))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())


def _claims(issuer: LocalIssuer, **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"iss": issuer.url, "aud": "dueprocess", "sub": "m-mallory", "iat": now,
            "exp": now + 600, "roles": ["dpo"], **extra}


def _kid(issuer: LocalIssuer) -> str:
    return str(issuer.jwks()["keys"][0]["kid"])


async def _refused(verifier: TokenVerifier, token: str) -> str:
    with pytest.raises(Unauthenticated) as caught:
        await verifier.verify(token)
    reason = str(caught.value)
    assert "\n" not in reason and (not token or token[-20:] not in reason)  # no token
    return reason


# -- accepted -----------------------------------------------------------------------------


async def test_a_person_token_becomes_a_principal(
    issuer: LocalIssuer, verifier: TokenVerifier
) -> None:
    # given a token minted for a case officer
    token = issuer.mint("staff-7", ["case_officer", "investigator"])
    # when it is verified
    principal = await verifier.verify(token)
    # then the principal is the token's subject, roles and authentication
    assert principal.issuer == issuer.url and principal.subject == "staff-7"
    assert principal.kind == "person" and principal.auth_method == "local"
    assert principal.roles == {"case_officer", "investigator"}
    assert principal.token_id and principal.auth_time is not None
    actor = principal.actor("investigator")
    assert (actor.id, actor.role, actor.kind) == ("staff-7", "investigator", ActorKind.PERSON)
    record = principal.record("req-1")
    assert record.subject == "staff-7" and record.request_id == "req-1"
    assert record.token_id == principal.token_id


async def test_a_role_the_token_does_not_grant_is_not_permitted(
    issuer: LocalIssuer, verifier: TokenVerifier
) -> None:
    principal = await verifier.verify(issuer.mint("staff-7", ["investigator"]))
    with pytest.raises(NotPermitted) as caught:
        principal.actor("case_officer")
    assert caught.value.field == "actor.role" and caught.value.rule == "role-from-token"


async def test_a_client_credentials_token_is_a_system_principal(
    issuer: LocalIssuer, verifier: TokenVerifier
) -> None:
    principal = await verifier.verify(issuer.mint("svc-intake", ["intake", "detector"],
                                                  system=True))
    assert principal.kind == "system" and principal.auth_method == "client_credentials"
    assert principal.auth_time is None
    assert principal.actor("intake").kind is ActorKind.SYSTEM
    assert principal.actor("detector").kind is ActorKind.AUTOMATED


@pytest.mark.parametrize("claims", [{"idtyp": "app"}, {"gty": "client-credentials"},
                                    {"preferred_username": "service-account-hr"}])
async def test_idp_ways_of_saying_client_credentials(
    issuer: LocalIssuer, verifier: TokenVerifier, claims: dict[str, Any]
) -> None:
    token = issuer.mint("svc", ["intake"], client_id="other", amr=None, **claims)
    assert (await verifier.verify(token)).kind == "system"


async def test_unknown_roles_are_ignored_and_system_is_never_granted(
    issuer: LocalIssuer, verifier: TokenVerifier
) -> None:
    principal = await verifier.verify(issuer.mint("x", ["auditor", "pope", "system"]))
    assert principal.roles == {"auditor"}


async def test_roles_are_mapped_from_the_configured_claim(issuer: LocalIssuer) -> None:
    # given an IdP that puts groups in "groups" and a map to dueprocess roles
    assert issuer.url is not None
    verifier = TokenVerifier(issuer.url, "dueprocess", role_claim="groups",
                             role_map=parse_role_map("hr-officers=case_officer, privacy=dpo"))
    token = issuer.mint("staff-7", [], groups=["hr-officers", "privacy", "auditor", "misc"])
    # then only mapped groups count (an unmapped group named like a role grants nothing)
    assert (await verifier.verify(token)).roles == {"case_officer", "dpo"}


async def test_a_nested_or_space_separated_role_claim(issuer: LocalIssuer) -> None:
    assert issuer.url is not None
    nested = TokenVerifier(issuer.url, "dueprocess", role_claim="realm_access.roles")
    token = issuer.mint("a", [], realm_access={"roles": ["auditor", "offline_access"]})
    assert (await nested.verify(token)).roles == {"auditor"}
    spaced = TokenVerifier(issuer.url, "dueprocess", role_claim="scope")
    assert (await spaced.verify(issuer.mint("a", [], scope="openid dpo"))).roles == {"dpo"}


def test_a_role_map_naming_an_unknown_role_is_refused() -> None:
    with pytest.raises(ValueError, match="pope"):
        parse_role_map("admins=pope")
    with pytest.raises(ValueError, match="IDP_ROLE=dueprocess_role"):
        parse_role_map("admins")


async def test_a_rotated_key_is_picked_up(issuer: LocalIssuer, verifier: TokenVerifier) -> None:
    # given a verifier that has cached the issuer's keys
    before = issuer.mint("staff-7", ["case_officer"])
    await verifier.verify(before)
    # when the issuer signs with a new key
    new_kid = issuer.rotate()
    after = issuer.mint("staff-7", ["case_officer"])
    assert jwt.get_unverified_header(after)["kid"] == new_kid
    # then tokens under the new key verify (one refetch), and the old ones still do
    assert (await verifier.verify(after)).subject == "staff-7"
    assert (await verifier.verify(before)).subject == "staff-7"


# -- refused ------------------------------------------------------------------------------


async def test_missing_token(verifier: TokenVerifier) -> None:
    assert "no access token" in await _refused(verifier, "")


async def test_expired(issuer: LocalIssuer, verifier: TokenVerifier) -> None:
    token = issuer.mint("staff-7", ["case_officer"], ttl=timedelta(minutes=-5))
    assert "expired" in await _refused(verifier, token)


async def test_wrong_audience(issuer: LocalIssuer, verifier: TokenVerifier) -> None:
    token = issuer.mint("staff-7", ["case_officer"], aud="another-service")
    assert "audience" in (await _refused(verifier, token)).lower()


async def test_wrong_issuer(issuer: LocalIssuer, verifier: TokenVerifier) -> None:
    token = issuer.mint("staff-7", ["case_officer"], iss="https://idp.example.org")
    assert "issuer" in await _refused(verifier, token)


async def test_unknown_key_id(issuer: LocalIssuer, verifier: TokenVerifier) -> None:
    stranger = ec.generate_private_key(ec.SECP256R1())
    token = jwt.encode(_claims(issuer), stranger, algorithm="ES256", headers={"kid": "nope"})
    assert "key the issuer does not publish" in await _refused(verifier, token)


async def test_a_known_key_id_on_a_strangers_signature(
    issuer: LocalIssuer, verifier: TokenVerifier
) -> None:
    stranger = ec.generate_private_key(ec.SECP256R1())
    token = jwt.encode(_claims(issuer), stranger, algorithm="ES256",
                       headers={"kid": _kid(issuer)})
    assert "Signature verification failed" in await _refused(verifier, token)


async def test_alg_none(issuer: LocalIssuer, verifier: TokenVerifier) -> None:
    token = _unsigned({"alg": "none", "kid": _kid(issuer)}, _claims(issuer)) + "."
    assert "'none' is not accepted" in await _refused(verifier, token)


async def test_hs256_signed_with_the_public_key(
    issuer: LocalIssuer, verifier: TokenVerifier
) -> None:
    # the classic confusion: the public key (as published, or as PEM) used as an HMAC secret
    jwk = issuer.jwks()["keys"][0]
    for secret in (json.dumps(jwk).encode(), jwt.PyJWK(jwk).key.public_bytes(
            *_pem_public())):
        signing_input = _unsigned({"alg": "HS256", "kid": jwk["kid"]}, _claims(issuer))
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        assert "'HS256' is not accepted" in await _refused(verifier,
                                                           signing_input + "." + _b64(mac))


def _pem_public() -> tuple[Any, Any]:
    return serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo


async def test_an_algorithm_that_does_not_fit_the_key(
    issuer: LocalIssuer, verifier: TokenVerifier
) -> None:
    token = issuer.mint("staff-7", ["case_officer"])
    _, rest = token.split(".", 1)
    forged = _b64(json.dumps({"alg": "RS256", "kid": _kid(issuer)}).encode()) + "." + rest
    assert "does not fit" in await _refused(verifier, forged)


async def test_tampered_signature(issuer: LocalIssuer, verifier: TokenVerifier) -> None:
    token = issuer.mint("staff-7", ["case_officer"])
    head, _, signature = token.rpartition(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[5] ^= 0x01
    tampered = head + "." + _b64(bytes(raw))
    assert "Signature verification failed" in await _refused(verifier, tampered)


async def test_tampered_claims(issuer: LocalIssuer, verifier: TokenVerifier) -> None:
    token = issuer.mint("staff-7", ["investigator"])
    header, _, signature = token.split(".")
    forged = _b64(json.dumps(_claims(issuer, roles=["dpo"])).encode())
    assert "Signature" in await _refused(verifier, f"{header}.{forged}.{signature}")


async def test_a_token_without_expiry(issuer: LocalIssuer, verifier: TokenVerifier) -> None:
    assert "exp" in await _refused(verifier, issuer.mint("staff-7", [], exp=None))


@settings(max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(garbage=st.text(max_size=300) | st.from_regex(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.?.*"))
async def test_garbage_is_unauthenticated_never_a_crash(
    verifier: TokenVerifier, garbage: str
) -> None:
    with pytest.raises(Unauthenticated):
        await verifier.verify(garbage)


async def test_an_unreachable_issuer_is_unavailable(issuer: LocalIssuer) -> None:
    # given an issuer that has stopped
    url = await issuer.start()
    token = issuer.mint("staff-7", ["case_officer"])
    await issuer.stop()
    # then nobody can be authenticated, and that is told apart from a bad token
    with pytest.raises(IssuerUnavailable):
        await TokenVerifier(url, "dueprocess").verify(token)


# -- the key file -------------------------------------------------------------------------


async def test_the_signing_key_is_private_to_its_owner(issuer: LocalIssuer) -> None:
    key_file = issuer.data_dir / KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    # and a copy of the issuer that only knows the URL mints tokens the verifier accepts
    minter = LocalIssuer(issuer.data_dir, issuer_url=issuer.url)
    assert issuer.url is not None
    principal = await TokenVerifier(issuer.url, "dueprocess").verify(
        minter.mint("staff-7", ["auditor"]))
    assert principal.roles == {"auditor"}
    key_file.chmod(0o644)
    with pytest.raises(IssuerKeyError, match="chmod 600"):
        LocalIssuer(issuer.data_dir, issuer_url=issuer.url).mint("x", [])


async def test_a_token_minted_before_devs_restart_still_verifies_after_it(
        tmp_path: Path) -> None:
    # Given dev's issuer, and a token it minted
    data = tmp_path / "data"
    async with serving(data, "dueprocess") as url:
        token = LocalIssuer(data, issuer_url=url).mint("staff-7", ["case_officer"])
    # When dev starts again on the same data dir
    async with serving(data, "dueprocess") as again:
        # Then its issuer is where it was, and the token verifies there
        assert again == url
        principal = await TokenVerifier(again, "dueprocess").verify(token)
        assert principal.subject == "staff-7"
    # and when that port is taken meanwhile, a free one is used
    port = int(url.rpartition(":")[2])
    with socket.create_server(("127.0.0.1", port)):
        async with serving(data, "dueprocess") as elsewhere:
            assert elsewhere != url
