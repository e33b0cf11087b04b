"""Per-data-subject encryption of personal data inside event payloads.

Each ``{"pii": true, "subject_id": S, "value": V}`` object is sealed with AES-256-GCM
under S's own key. The nonce is synthetic (HMAC of the plaintext and its place), so a
retried append produces identical bytes and is recognised as the same event, while two
different plaintexts never share a nonce. Destroying S's key (erasure) turns every such
value into a redaction marker; the ciphertext stays, so hash chains still verify.
"""

from __future__ import annotations

import base64
import hashlib
import os
from base64 import b64encode
from collections.abc import Mapping
from typing import Any
from uuid import UUID

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class Index(int):
    """A list position in a Path (a plain int in a Path is a dict key, written ``.1``)."""


# Where a personal value sits in its payload: dict keys and list Indexes from the root.
Path = tuple[Any, ...]
Found = list[tuple[Path, dict[str, Any]]]

_SHA256_BLOCK = 64


class SubjectKey:
    """A subject's live key, ready to seal with.

    Appends seal thousands of values under one cached key; the AES key schedule and the
    HMAC pads are set up once here instead of once per value (a third of sealing's cost).
    """

    __slots__ = ("_aead", "_inner", "_outer", "key_id", "material")

    def __init__(self, key_id: int, material: bytes) -> None:
        if len(material) > _SHA256_BLOCK:
            raise ValueError("key material: at most 64 bytes (keys are 32)")
        self.key_id = key_id
        self.material = material  # sent once, when the append that first uses it creates it
        self._aead = AESGCM(material)
        # HMAC-SHA256 as RFC 2104 defines it, with both padded keys absorbed once: the
        # same nonces as hmac.digest(material, ...), so bytes sealed before are unchanged.
        block = material.ljust(_SHA256_BLOCK, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))

    def _nonce(self, message: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()[:12]

    def seal(self, plain: bytes, aad: bytes) -> bytes:
        nonce = self._nonce(b"nonce|" + aad + b"|" + plain)
        return nonce + self._aead.encrypt(nonce, plain, aad)


def is_personal(node: Any) -> bool:
    """A ``Personal`` value in JSON form: the unit that is sealed and redacted."""
    return isinstance(node, dict) and node.get("pii") is True and "subject_id" in node


def personal_nodes(payload: Mapping[str, Any]) -> Found:
    """Every personal value of a payload with its path, in one walk."""
    found: Found = []
    _find(payload, (), found)
    return found


def _find(node: Any, path: Path, found: Found) -> None:
    if is_personal(node):
        found.append((path, node))
    elif isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, dict | list):
                _find(value, (*path, key), found)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            if isinstance(item, dict | list):
                _find(item, (*path, Index(index)), found)


def path_text(path: Path) -> str:
    """``$.a.b[2]``: the form bound into each value's AAD (never change it)."""
    if len(path) == 1 and isinstance(path[0], str):  # the usual case: a top-level field
        return "$." + path[0]
    return "$" + "".join(f"[{p}]" if isinstance(p, Index) else f".{p}" for p in path)


def subjects_of(found: Found) -> set[str]:
    """Subjects whose values need a live key (redaction markers need none)."""
    return {node["subject_id"] for _, node in found if "value" in node}


def subjects_in(payload: Mapping[str, Any]) -> set[str]:
    return subjects_of(personal_nodes(payload))


def key_ids_in(payload: Mapping[str, Any]) -> set[int]:
    return {node["key_id"] for _, node in personal_nodes(payload) if "key_id" in node}


def uuid_text(value: UUID) -> str:
    """``str(value)`` (hyphenated, lower case) at a third of its cost."""
    return orjson.dumps(value)[1:-1].decode("ascii")


def _aad(event_id: str, path: str, subject_id: str, key_id: int) -> bytes:
    return f"{event_id}|{path}|{subject_id}|{key_id}".encode()


def _replaced(node: Any, path: Path, new: Any, depth: int = 0) -> Any:
    """A copy of ``node`` with the value at ``path`` replaced; only the containers on the
    path are copied (the caller's payload is never modified)."""
    if depth == len(path):
        return new
    step = path[depth]
    copy: Any = dict(node) if isinstance(node, dict) else list(node)
    copy[step] = _replaced(node[step], path, new, depth + 1)
    return copy


def _with_replaced(payload: Mapping[str, Any], found: Found, leaf: Any) -> dict[str, Any]:
    """``payload`` with each personal value of ``found`` replaced by ``leaf(path, node)``."""
    out: Any = payload
    for path, node in found:
        new = leaf(path_text(path), node)
        out = _replaced(out, path, new) if path else new
    return dict(out)


def seal_found(
    payload: Mapping[str, Any], found: Found, event_id: str, keys: Mapping[str, SubjectKey]
) -> dict[str, Any]:
    """``payload`` with each personal value of ``found`` (from personal_nodes) sealed under
    its subject's key in ``keys``."""

    def leaf(path: str, node: dict[str, Any]) -> dict[str, Any]:
        subject = node["subject_id"]
        value = node.get("value")
        if value is None:  # already a redaction marker: nothing to protect
            return {"pii": True, "subject_id": subject, "erased": True}
        key = keys[subject]
        aad = _aad(event_id, path, subject, key.key_id)
        return {"pii": True, "subject_id": subject, "key_id": key.key_id,
                "ct": b64encode(key.seal(str(value).encode("utf-8"), aad)).decode("ascii")}

    return _with_replaced(payload, found, leaf)


def seal(
    payload: Mapping[str, Any], event_id: str, keys: Mapping[str, SubjectKey]
) -> dict[str, Any]:
    """Encrypt every personal value; ``keys`` maps subject id to its live key."""
    return seal_found(payload, personal_nodes(payload), event_id, keys)


def unseal(
    payload: Mapping[str, Any], event_id: str, keys: Mapping[int, bytes | None]
) -> dict[str, Any]:
    """Decrypt personal values; a destroyed key gives ``value: None, erased: True``."""
    ciphers: dict[int, AESGCM] = {}

    def leaf(path: str, node: dict[str, Any]) -> dict[str, Any]:
        subject = node["subject_id"]
        key_id = node.get("key_id", -1)
        key = keys.get(key_id)
        if key is None or "ct" not in node:
            return {"pii": True, "subject_id": subject, "value": None, "erased": True}
        cipher = ciphers.get(key_id) or ciphers.setdefault(key_id, AESGCM(key))
        sealed = base64.b64decode(node["ct"])
        plain = cipher.decrypt(sealed[:12], sealed[12:], _aad(event_id, path, subject, key_id))
        return {"pii": True, "subject_id": subject, "value": plain.decode("utf-8"),
                "erased": False}

    return _with_replaced(payload, personal_nodes(payload), leaf)


def new_key() -> bytes:
    return os.urandom(32)


# -- key wrapping ----------------------------------------------------------------------------

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

