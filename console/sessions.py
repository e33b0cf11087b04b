"""Console sessions in PostgreSQL (the ``console_sessions`` migration): every API replica
serves the same sessions, and a restart signs nobody out.

Why server-side in the database rather than a stateless encrypted cookie: signing out,
and a token the verifier refuses, must end a session on every replica at once, which a
self-contained cookie can only do with a revocation list in a shared store; the database
is that shared store already, and it enforces the expiry itself.

The cookie (signed by the session middleware) carries only a random session id. The
table keys a session by the id's SHA-256 and keeps the OIDC access token sealed with
AES-256-GCM under a key derived from the console's session secret and the id, so neither
a copy of the table nor the table with the secret gives up a token without the browser's
cookie. The CSRF token is derived from the id too (HMAC), never stored. A session ends at
sign-out, at the token's expiry, or after ``ttl``, whichever is first.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ..store.db import Database

NONCE_BYTES = 12
MAX_SID = 100  # longer than any id this module issues: not looked up


@dataclass(frozen=True)
class SessionData:
    token: str  # the OIDC access token, verified again on every request
    csrf: str  # the session's CSRF token, in every form
    role: str | None = None  # the role picked, when the token holds several


def _derive(secret: str, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=f"dueprocess console {purpose}".encode()).derive(secret.encode())


class SessionKeys:
    """One key per purpose from the session secret (HKDF-SHA256): the cookie's signature,
    the tokens' sealing and the CSRF tokens never share a key."""

    def __init__(self, secret: str) -> None:
        self.cookie = _derive(secret, "cookie").hex()  # the middleware signs with it
        self._seal = _derive(secret, "seal")
        self._csrf = _derive(secret, "csrf")

    def seal(self, sid: str, token: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + AESGCM(self._session_key(sid)).encrypt(
            nonce, token.encode(), session_hash(sid))

    def unseal(self, sid: str, sealed: bytes) -> str | None:
        """The token, or None when it was sealed under another secret (or tampered with)."""
        try:
            clear = AESGCM(self._session_key(sid)).decrypt(
                sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], session_hash(sid))
        except InvalidTag:
            return None
        return clear.decode()

    def csrf(self, sid: str) -> str:
        return hmac.new(self._csrf, sid.encode(), hashlib.sha256).hexdigest()

    def _session_key(self, sid: str) -> bytes:
        return hmac.new(self._seal, sid.encode(), hashlib.sha256).digest()


def session_hash(sid: str) -> bytes:
    return hashlib.sha256(sid.encode()).digest()


class Sessions:
    def __init__(self, db: Database, keys: SessionKeys, ttl: timedelta) -> None:
        self._db = db
        self._keys = keys
        self._ttl = ttl

    async def open(self, token: str, token_expires: float | None) -> str:
        """A new session for a verified token; returns its id (for the cookie)."""
        sid = secrets.token_urlsafe(32)
        expires = None if token_expires is None else datetime.fromtimestamp(token_expires, UTC)
        await self._db.fetchval(
            "SELECT dueprocess_console_session_open($1, $2, $3, $4)",
            session_hash(sid), self._keys.seal(sid, token), self._ttl, expires)
        return sid

    async def get(self, sid: object) -> SessionData | None:
        """The live session ``sid`` names, or None (none, expired, signed out)."""
        if not isinstance(sid, str) or len(sid) > MAX_SID:
            return None
        row = await self._db.fetchrow(
            "SELECT sealed_token, role FROM dueprocess_console_session($1)", session_hash(sid))
        if row is None:
            return None
        token = self._keys.unseal(sid, row["sealed_token"])
        if token is None:  # sealed under a secret no longer configured: sign in again
            return None
        return SessionData(token=token, csrf=self._keys.csrf(sid), role=row["role"])

    async def pick_role(self, sid: str, role: str) -> None:
        await self._db.fetchval("SELECT dueprocess_console_session_role($1, $2)",
                                session_hash(sid), role)

    async def close(self, sid: object) -> None:
        if isinstance(sid, str) and len(sid) <= MAX_SID:
            await self._db.fetchval("SELECT dueprocess_console_session_close($1)",
                                    session_hash(sid))
