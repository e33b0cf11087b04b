"""Personal values sealed under their data subject's own key in every Temporal payload.

The payload key (codec.py) seals whole payloads under one shared key: an erasure cannot
reach them. This codec runs first: in each JSON payload, every ``Personal`` value
(``{"pii": true, "subject_id": S, "value": V}``) becomes ``{"pii": true, "subject_id": S,
"tk": KEY_ID, "tct": CIPHERTEXT}``, sealed under a key derived from S's subject key
(store/keyring.py). Temporal's history, workflow state handed over by continue-as-new,
query answers and activity inputs hold only that; decoding opens it again, and once S is
erased (their key destroyed) it decodes to the store's redaction marker (``value: null,
erased: true``). So erasure reaches Temporal too.

Where it runs: every process with a Temporal client (clients, workers, replayers) needs
the codec, and so read access to ``subject_keys`` and EXECUTE on
``dueprocess_subject_key`` (migration 0013; the application role has both). The worker
and the CLI build it from DUEPROCESS_SUBJECT_SEALING; a direct Python client passes
``data_converter(payload_key, keyring=SubjectKeyring(pool, key_wrap))`` with the workers'
settings. Inside a worker the workflow sees clear values in memory while it runs.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence
from typing import Any, Protocol

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from ..store.crypto import is_personal

JSON = b"json/plain"
MARK = "dueprocess-subject-sealed"


class Keyring(Protocol):
    async def sealing_keys(
        self, subjects: Sequence[str]) -> dict[str, tuple[int, bytes] | None]: ...

    async def opening_keys(self, key_ids: Sequence[int]) -> dict[int, bytes | None]: ...


def _aad(subject: str, key_id: int) -> bytes:
    return f"dueprocess-temporal|{subject}|{key_id}".encode()


def _erased(subject: str) -> dict[str, Any]:
    return {"pii": True, "subject_id": subject, "value": None, "erased": True}


def _walk(node: Any, found: list[dict[str, Any]]) -> None:
    """Every personal node (dicts, modified in place by the caller on a fresh parse)."""
    if isinstance(node, dict):
        if is_personal(node):
            found.append(node)
            return
        for value in node.values():
            if isinstance(value, dict | list):
                _walk(value, found)
    elif isinstance(node, list):
        for item in node:
            if isinstance(item, dict | list):
                _walk(item, found)


def _nodes(document: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    _walk(document, found)
    return found


class SubjectSealingCodec(PayloadCodec):
    def __init__(self, keyring: Keyring) -> None:
        self._keyring = keyring

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [await self._seal(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [await self._open(p) if p.metadata.get(MARK) else p for p in payloads]

    async def _seal(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != JSON or MARK in payload.metadata:
            return payload
        document = orjson.loads(payload.data)
        nodes = [n for n in _nodes(document) if n.get("value") is not None]
        if not nodes:
            return payload
        keys = await self._keyring.sealing_keys(sorted({n["subject_id"] for n in nodes}))
        for node in nodes:
            subject, value = node["subject_id"], str(node["value"])
            key = keys.get(subject)
            node.clear()
            if key is None:  # erased: nothing of theirs may enter Temporal again
                node.update(_erased(subject))
                continue
            key_id, material = key
            nonce = os.urandom(12)
            sealed = AESGCM(material).encrypt(nonce, value.encode(), _aad(subject, key_id))
            node.update({"pii": True, "subject_id": subject, "tk": key_id,
                         "tct": base64.b64encode(nonce + sealed).decode("ascii")})
        metadata = dict(payload.metadata)
        metadata[MARK] = b"1"
        return Payload(metadata=metadata, data=orjson.dumps(document))

    async def _open(self, payload: Payload) -> Payload:
        document = orjson.loads(payload.data)
        nodes = [n for n in _nodes(document) if "tct" in n]
        keys = await self._keyring.opening_keys(sorted({int(n["tk"]) for n in nodes}))
        for node in nodes:
            subject, key_id, sealed = node["subject_id"], int(node["tk"]), node["tct"]
            node.clear()
            node.update(_opened(subject, key_id, sealed, keys.get(key_id)))
        metadata = {k: v for k, v in payload.metadata.items() if k != MARK}
        return Payload(metadata=metadata, data=orjson.dumps(document))


def _opened(subject: str, key_id: int, sealed: str, key: bytes | None) -> dict[str, Any]:
    if key is None:
        return _erased(subject)
    raw = base64.b64decode(sealed)
    try:
        plain = AESGCM(key).decrypt(raw[:12], raw[12:], _aad(subject, key_id))
    except InvalidTag:
        raise ValueError(f"a sealed personal value of {subject!r} does not open under its "
                         f"key {key_id}: altered, or moved from another subject") from None
    return {"pii": True, "subject_id": subject, "value": plain.decode(), "erased": False}


class ChainCodec(PayloadCodec):
    """Codecs applied in order on encode, in reverse on decode."""

    def __init__(self, codecs: Sequence[PayloadCodec]) -> None:
        self._codecs = list(codecs)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        out = list(payloads)
        for codec in self._codecs:
            out = await codec.encode(out)
        return out

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        out = list(payloads)
        for codec in reversed(self._codecs):
            out = await codec.decode(out)
        return out

