"""A real, local OpenID Connect issuer for development, the demo and the tests.

dueprocess never trusts an identity it did not verify, in development too: the embedded
stack runs this issuer, and the API verifies its tokens with exactly the code that
verifies Keycloak's, Entra ID's or Google's (services/identity.py). It serves the
discovery document and the JWKS on loopback; the ES256 signing key lives in the data
dir, readable by its owner only. Anyone who can read that file can mint any identity:
it is a development tool, never a production IdP.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import errno
import hashlib
import json
import os
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ..services.roles import TOKEN_ROLES
from .cast import staff_cast
from .issuer_login import AUTHORIZE_PATH, TOKEN_PATH, Login, LoginError, Person
from .issuer_port import remember_port, remembered_port

KEY_FILE = "oidc-signing-key.pem"
ALGORITHM = "ES256"
CLI_CLIENT = "dueprocess-cli"  # the client id person tokens are issued to
DISCOVERY_PATH = "/.well-known/openid-configuration"
JWKS_PATH = "/jwks.json"
SIGN_IN_TTL = timedelta(hours=1)  # tokens the sign-in page issues (the console's session)


class IssuerKeyError(Exception):
    """The signing key file is missing, unreadable or not private to its owner."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _public_jwk(key: ec.EllipticCurvePrivateKey) -> dict[str, str]:
    numbers = key.public_key().public_numbers()
    size = (key.curve.key_size + 7) // 8
    jwk = {"crv": "P-256", "kty": "EC", "x": _b64(numbers.x.to_bytes(size, "big")),
           "y": _b64(numbers.y.to_bytes(size, "big"))}
    # RFC 7638 thumbprint as the key id: stable for a key, new for a new key.
    thumb = hashlib.sha256(json.dumps(jwk, separators=(",", ":"), sort_keys=True).encode())
    return {**jwk, "kid": _b64(thumb.digest()), "use": "sig", "alg": ALGORITHM}


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    scratch = path.with_suffix(".tmp")
    with contextlib.suppress(FileNotFoundError):
        scratch.unlink()
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    scratch.replace(path)


def load_key(data_dir: Path, *, create: bool) -> ec.EllipticCurvePrivateKey:
    """The data dir's signing key (created, owner-only, when ``create`` and absent)."""
    path = data_dir / KEY_FILE
    if not path.exists():
        if not create:
            raise IssuerKeyError(f"no local issuer key in {data_dir} (start `dueprocess dev`)")
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        _write_key(path, ec.generate_private_key(ec.SECP256R1()))
    if path.stat().st_mode & 0o077:
        raise IssuerKeyError(f"{path} is readable by others: chmod 600 it (anyone who can "
                             "read it can mint any identity)")
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as err:
        raise IssuerKeyError(f"{path}: not a readable private key ({err})") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise IssuerKeyError(f"{path}: not a P-256 (ES256) private key")
    return key


class LocalIssuer:
    """Discovery and JWKS on 127.0.0.1, tokens minted with the data dir's key.

    Only ``mint`` is needed to issue tokens for a running issuer whose URL is known
    (``issuer_url``: `dueprocess token` reads it from the dev stack's announcement).
    """

    def __init__(self, data_dir: Path, *, audience: str = "dueprocess",
                 issuer_url: str | None = None, port: int = 0,
                 people: list[Person] | None = None) -> None:
        self.data_dir = data_dir
        # Who the sign-in page (authorization code + PKCE) offers; see issuer_login.py.
        self.login = Login(people or [], self._sign_in, any_roles=sorted(TOKEN_ROLES))
        self.audience = audience
        self.url = issuer_url
        self._port = port
        self._key: ec.EllipticCurvePrivateKey | None = None
        self._retired: list[dict[str, str]] = []  # public keys still published after rotate
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def _signing_key(self) -> ec.EllipticCurvePrivateKey:
        if self._key is None:
            self._key = load_key(self.data_dir, create=self._server is not None)
        return self._key

    def jwks(self) -> dict[str, Any]:
        return {"keys": [_public_jwk(self._signing_key()), *self._retired]}

    def discovery(self) -> dict[str, Any]:
        assert self.url is not None
        return {
            "issuer": self.url,
            "jwks_uri": self.url + JWKS_PATH,
            "id_token_signing_alg_values_supported": [ALGORITHM],
            "authorization_endpoint": self.url + AUTHORIZE_PATH,
            "token_endpoint": self.url + TOKEN_PATH,
            "response_types_supported": ["code", "token"],
            "subject_types_supported": ["public"],
            "grant_types_supported": ["authorization_code", "client_credentials"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none"],
            "scopes_supported": ["openid"],
        }

    def _sign_in(self, person: Person, client_id: str,
                 nonce: str | None) -> tuple[str, str, int]:
        """An access token (audience: dueprocess) and an ID token (audience: the client)
        for a person picked on the sign-in page."""
        access = self.mint(person.subject, list(person.roles), ttl=SIGN_IN_TTL,
                           client_id=client_id, amr=["local", "pkce"])
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.url, "sub": person.subject, "aud": client_id, "iat": now,
            "exp": now + int(SIGN_IN_TTL.total_seconds()), "auth_time": now,
            "roles": list(person.roles), "name": person.label}
        if nonce:
            claims["nonce"] = nonce
        id_token = jwt.encode(claims, self._signing_key(), algorithm=ALGORITHM,
                              headers={"kid": _public_jwk(self._signing_key())["kid"]})
        return access, id_token, int(SIGN_IN_TTL.total_seconds())

    async def start(self) -> str:
        """Serve discovery and JWKS on a loopback port; returns the issuer URL."""
        if self._server is not None:
            assert self.url is not None
            return self.url
        self._server = ThreadingHTTPServer(("127.0.0.1", self._port), _handler(self))
        self._server.daemon_threads = True
        self._signing_key()  # created now if absent, before anyone asks for the JWKS
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="dueprocess-local-issuer", daemon=True)
        self._thread.start()
        return self.url

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            await asyncio.to_thread(server.shutdown)
            server.server_close()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def rotate(self) -> str:
        """Sign with a new key from now on (still publishing the old public key, so tokens
        already issued stay valid until they expire); returns the new key id."""
        old = _public_jwk(self._signing_key())
        key = ec.generate_private_key(ec.SECP256R1())
        _write_key(self.data_dir / KEY_FILE, key)
        self._key = key
        self._retired.append(old)
        return _public_jwk(key)["kid"]

    def mint(self, subject: str, roles: list[str], *, system: bool = False,
             ttl: timedelta = timedelta(minutes=15), **claims: Any) -> str:
        """A signed access token for ``subject`` holding ``roles``. ``system``: a token a
        service got for itself (client credentials: ``client_id`` is the subject).
        ``claims`` add to or override the standard ones (tests craft bad tokens so)."""
        if self.url is None:
            raise IssuerKeyError("the local issuer's URL is not known: start it first")
        key = self._signing_key()
        now = int(time.time())
        body: dict[str, Any] = {
            "iss": self.url, "sub": subject, "aud": self.audience,
            "iat": now, "nbf": now, "exp": now + int(ttl.total_seconds()),
            "jti": str(uuid.uuid4()), "roles": list(roles),
        }
        if system:
            body |= {"client_id": subject, "gty": "client-credentials"}
        else:
            body |= {"client_id": CLI_CLIENT, "auth_time": now, "amr": ["local"]}
        body |= claims
        headers = {"kid": _public_jwk(key)["kid"], "typ": "at+jwt"}
        return jwt.encode(body, key, algorithm=ALGORITHM, headers=headers)


@contextlib.asynccontextmanager
async def serving(data_dir: Path, audience: str) -> AsyncIterator[str]:
    """The local issuer of ``data_dir`` while the block runs; yields its URL. Its sign-in
    page offers the demo's staff (anyone else signs in by id and role). On the port it had
    last time when that is free (devstack/issuer_port.py): a token is bound to its
    issuer's URL, so tokens minted before a restart of `dueprocess dev` keep verifying."""
    issuer = LocalIssuer(data_dir, audience=audience, people=staff_cast(),
                         port=remembered_port(data_dir))
    try:
        url = await issuer.start()
    except OSError as err:
        if err.errno != errno.EADDRINUSE:
            raise
        # Taken by something else meanwhile (the bind failed, nothing is held): a free one.
        issuer = LocalIssuer(data_dir, audience=audience, people=staff_cast())
        url = await issuer.start()
    remember_port(data_dir, url)
    try:
        yield url
    finally:
        await issuer.stop()


def _handler(issuer: LocalIssuer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == DISCOVERY_PATH:
                self._json(issuer.discovery())
            elif path == JWKS_PATH:
                self._json(issuer.jwks())
            elif path == AUTHORIZE_PATH:
                query = parse_qs(self.path.partition("?")[2])
                self._answer(lambda: self._send(200, "text/html; charset=utf-8",
                                                issuer.login.page(query).encode()))
            else:
                self.send_error(404)

        def do_POST(self) -> None:
            length = min(int(self.headers.get("Content-Length") or 0), 64 * 1024)
            form = parse_qs(self.rfile.read(length).decode("utf-8", "replace"))
            path = self.path.split("?", 1)[0]
            if path == AUTHORIZE_PATH:
                self._answer(lambda: self._redirect(issuer.login.authorize(form)))
            elif path == TOKEN_PATH:
                self._answer(lambda: self._json(issuer.login.token(form), cache=False))
            else:
                self.send_error(404)

        def _answer(self, act: Callable[[], None]) -> None:
            try:
                act()
            except LoginError as err:
                body = {"error": err.error, "error_description": err.description}
                self._send(400, "application/json", json.dumps(body).encode())

        def _redirect(self, location: str) -> None:
            self.send_response(303)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _json(self, body: dict[str, Any], cache: bool = True) -> None:
            self._send(200, "application/json", json.dumps(body).encode(), cache=cache)

        def _send(self, status: int, kind: str, data: bytes, cache: bool = False) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "max-age=300" if cache else "no-store")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # requests for public keys are not worth a log line each

    return Handler
