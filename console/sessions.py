"""Server-side sessions: the cookie carries only a random id; the token stays here.

A session ends at sign-out, at the token's expiry, or after ``ttl``, whichever is first.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, replace
from datetime import timedelta


@dataclass(frozen=True)
class SessionData:
    token: str  # the OIDC access token, verified again on every request
    expires: float  # wall-clock seconds
    csrf: str  # the session's CSRF token, in every form
    role: str | None = None  # the role picked, when the token holds several


class Sessions:
    def __init__(self, ttl: timedelta) -> None:
        self._ttl = ttl.total_seconds()
        self._data: dict[str, SessionData] = {}
        self._lock = threading.Lock()

    def open(self, token: str, token_expires: float | None) -> str:
        """A new session for a verified token; returns its id (for the cookie)."""
        expires = time.time() + self._ttl
        if token_expires is not None:
            expires = min(expires, token_expires)
        sid = secrets.token_urlsafe(32)
        with self._lock:
            self._drop_expired()
            self._data[sid] = SessionData(token=token, expires=expires,
                                          csrf=secrets.token_urlsafe(32))
        return sid

    def get(self, sid: object) -> SessionData | None:
        if not isinstance(sid, str):
            return None
        with self._lock:
            found = self._data.get(sid)
            if found is not None and found.expires <= time.time():
                del self._data[sid]
                return None
            return found

    def pick_role(self, sid: str, role: str) -> None:
        with self._lock:
            if sid in self._data:
                self._data[sid] = replace(self._data[sid], role=role)

    def close(self, sid: object) -> None:
        with self._lock:
            if isinstance(sid, str):
                self._data.pop(sid, None)

    def _drop_expired(self) -> None:
        now = time.time()
        for sid in [s for s, d in self._data.items() if d.expires <= now]:
            del self._data[sid]
