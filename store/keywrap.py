"""Subject keys wrapped by key-encryption keys (KEKs) kept outside the database (0009).

Split from crypto.py (which re-exports these names) so each stays a readable size."""

from __future__ import annotations

import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

WRAPPED_PREFIX = b"dpw1"  # migration 0009's trigger knows this form: keep them in step
_FINGERPRINT_BYTES = 8
WRAPPED_LENGTH = len(WRAPPED_PREFIX) + _FINGERPRINT_BYTES + 12 + 32 + 16
KEK_VARIABLE = "DUEPROCESS_KEY_ENCRYPTION_KEYS"


class KeyUnavailable(Exception):
    """A subject key is wrapped by a key-encryption key this process was not given, or its
    wrapping does not open (altered, or moved to another row). Never read as erased: an
    audit must not show data as destroyed when it is only locked."""

    error_type = "KeyUnavailable"


def kek_fingerprint(kek: bytes) -> bytes:
    return hashlib.sha256(b"dueprocess-kek|" + kek).digest()[:_FINGERPRINT_BYTES]


def _wrap_aad(key_id: int, subject_id: str) -> bytes:
    # Binds a wrapped key to its row: copied onto another key id or subject it won't open.
    return f"dueprocess-subject-key|{key_id}|{subject_id}".encode()


def is_wrapped(stored: bytes) -> bool:
    return len(stored) == WRAPPED_LENGTH and stored.startswith(WRAPPED_PREFIX)


def _fingerprint_of(stored: bytes) -> bytes | None:
    """The fingerprint of the KEK a stored key is wrapped by; None: stored in clear."""
    start = len(WRAPPED_PREFIX)
    return stored[start:start + _FINGERPRINT_BYTES] if is_wrapped(stored) else None


class KeyWrap:
    """Subject keys wrapped by key-encryption keys (KEKs) kept outside the database.

    The first KEK wraps; every KEK given unwraps (old ones stay listed while keys wrapped
    by them remain, see ``dueprocess keys wrap``). With no KEK, or ``wrap_new=False`` (a
    KEK being rolled out: every process must unwrap before any wraps), new keys are stored
    in clear, as before 0009; keys stored in clear are always readable."""

    def __init__(self, keks: tuple[bytes, ...] = (), *, wrap_new: bool = True) -> None:
        for kek in keks:
            if len(kek) != 32:
                raise ValueError("key-encryption keys: 32 bytes each (AES-256)")
        self._current = (
            (kek_fingerprint(keks[0]), AESGCM(keks[0])) if keks and wrap_new else None)
        self._by_fingerprint = {kek_fingerprint(k): AESGCM(k) for k in keks}

    @property
    def current(self) -> str | None:
        """The hex fingerprint of the KEK that wraps new keys (None: keys stay in clear)."""
        return self._current[0].hex() if self._current else None

    def wrap(self, key_id: int, subject_id: str, material: bytes) -> bytes:
        if self._current is None:
            return material
        fingerprint, aead = self._current
        nonce = os.urandom(12)
        return (WRAPPED_PREFIX + fingerprint + nonce
                + aead.encrypt(nonce, material, _wrap_aad(key_id, subject_id)))

    def unwrap(self, key_id: int, subject_id: str, stored: bytes) -> bytes:
        fingerprint = _fingerprint_of(stored)
        if fingerprint is None:
            return stored
        aead = self._by_fingerprint.get(fingerprint)
        if aead is None:
            raise KeyUnavailable(
                f"subject key {key_id} is wrapped by key-encryption key {fingerprint.hex()}, "
                f"which this process was not given (add it to {KEK_VARIABLE}), or its "
                "stored form was altered"
            )
        nonce_at = len(WRAPPED_PREFIX) + _FINGERPRINT_BYTES
        try:
            return aead.decrypt(stored[nonce_at:nonce_at + 12], stored[nonce_at + 12:],
                                _wrap_aad(key_id, subject_id))
        except InvalidTag:
            raise KeyUnavailable(
                f"subject key {key_id} does not unwrap under key-encryption key "
                f"{fingerprint.hex()}: its stored form was altered or moved from another row"
            ) from None

    def needs_wrapping(self, stored: bytes) -> bool:
        """Stored in clear, or wrapped by a KEK other than the current one."""
        return self._current is not None and _fingerprint_of(stored) != self._current[0]


NO_KEY_WRAP = KeyWrap()

