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
import hmac
import os
from collections.abc import Iterator, Mapping
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KeyRef = tuple[int, bytes]  # (key_id, key material)


def is_personal(node: Any) -> bool:
    """A ``Personal`` value in JSON form: the unit that is sealed and redacted."""
    return isinstance(node, dict) and node.get("pii") is True and "subject_id" in node


def _walk(node: Any, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    if is_personal(node):
        yield path, node
    elif isinstance(node, dict):
        for key in sorted(node):
            yield from _walk(node[key], f"{path}.{key}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _walk(item, f"{path}[{index}]")


def subjects_in(payload: Mapping[str, Any]) -> set[str]:
    return {node["subject_id"] for _, node in _walk(dict(payload), "$") if "value" in node}


def key_ids_in(payload: Mapping[str, Any]) -> set[int]:
    return {node["key_id"] for _, node in _walk(dict(payload), "$") if "key_id" in node}


def _aad(event_id: str, path: str, subject_id: str, key_id: int) -> bytes:
    return f"{event_id}|{path}|{subject_id}|{key_id}".encode()


def _transform(node: Any, path: str, leaf: Any) -> Any:
    if is_personal(node):
        return leaf(path, node)
    if isinstance(node, dict):
        return {k: _transform(v, f"{path}.{k}", leaf) for k, v in node.items()}
    if isinstance(node, list):
        return [_transform(v, f"{path}[{i}]", leaf) for i, v in enumerate(node)]
    return node


def seal(payload: Mapping[str, Any], event_id: str, keys: Mapping[str, KeyRef]) -> dict[str, Any]:
    """Encrypt every personal value; ``keys`` maps subject id to its live key."""

    def leaf(path: str, node: dict[str, Any]) -> dict[str, Any]:
        value = node.get("value")
        if value is None:  # already a redaction marker: nothing to protect
            return {"pii": True, "subject_id": node["subject_id"], "erased": True}
        key_id, key = keys[node["subject_id"]]
        plain = str(value).encode("utf-8")
        aad = _aad(event_id, path, node["subject_id"], key_id)
        nonce = hmac.new(key, b"nonce|" + aad + b"|" + plain, hashlib.sha256).digest()[:12]
        sealed = nonce + AESGCM(key).encrypt(nonce, plain, aad)
        return {"pii": True, "subject_id": node["subject_id"], "key_id": key_id,
                "ct": base64.b64encode(sealed).decode("ascii")}

    return dict(_transform(dict(payload), "$", leaf))


def unseal(
    payload: Mapping[str, Any], event_id: str, keys: Mapping[int, bytes | None]
) -> dict[str, Any]:
    """Decrypt personal values; a destroyed key gives ``value: None, erased: True``."""

    def leaf(path: str, node: dict[str, Any]) -> dict[str, Any]:
        subject = node["subject_id"]
        key = keys.get(node.get("key_id", -1))
        if key is None or "ct" not in node:
            return {"pii": True, "subject_id": subject, "value": None, "erased": True}
        sealed = base64.b64decode(node["ct"])
        aad = _aad(event_id, path, subject, node["key_id"])
        plain = AESGCM(key).decrypt(sealed[:12], sealed[12:], aad)
        return {"pii": True, "subject_id": subject, "value": plain.decode("utf-8"),
                "erased": False}

    return dict(_transform(dict(payload), "$", leaf))


def new_key() -> bytes:
    return os.urandom(32)
