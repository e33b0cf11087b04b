"""Encryption of Temporal payloads (commands, results, state) at rest in Temporal.

The event store is the system of record and encrypts personal data per subject; but the
commands that carry that data also pass through Temporal's history, in clear unless a
codec seals them. With DUEPROCESS_PAYLOAD_KEY set (32 random bytes, base64), every
payload the client, workers and replayers exchange is AES-256-GCM encrypted; the key id
travels in the payload metadata so keys can be rotated (old keys stay for decoding).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import os
from collections.abc import Mapping, Sequence

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, PayloadCodec

ENCODING = b"binary/dueprocess-aesgcm"


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"dueprocess-payload-key|" + key).hexdigest()[:16]


def parse_key(text: str) -> bytes:
    try:
        key = base64.b64decode(text, validate=True)
    except ValueError:
        raise ValueError("must be base64") from None
    if len(key) != 32:
        raise ValueError("must decode to 32 bytes (AES-256)")
    return key


class EncryptionCodec(PayloadCodec):
    def __init__(self, key: bytes, old_keys: Sequence[bytes] = ()) -> None:
        self._key = key
        self._key_id = key_id(key)
        self._keys: Mapping[str, bytes] = {key_id(k): k for k in (key, *old_keys)}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._seal(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._open(p) if p.metadata.get("encoding") == ENCODING else p
                for p in payloads]

    def _seal(self, payload: Payload) -> Payload:
        nonce = os.urandom(12)
        sealed = AESGCM(self._key).encrypt(nonce, payload.SerializeToString(), None)
        return Payload(metadata={"encoding": ENCODING, "key-id": self._key_id.encode()},
                       data=nonce + sealed)

    def _open(self, payload: Payload) -> Payload:
        wanted = payload.metadata.get("key-id", b"").decode()
        key = self._keys.get(wanted)
        if key is None:
            raise ValueError(f"payload sealed with unknown key id {wanted!r}")
        inner = Payload()
        inner.ParseFromString(AESGCM(key).decrypt(payload.data[:12], payload.data[12:], None))
        return inner


def data_converter(key: bytes | None) -> DataConverter:
    """The pydantic converter, sealed when a payload key is configured."""
    if key is None:
        return pydantic_data_converter
    return dataclasses.replace(pydantic_data_converter, payload_codec=EncryptionCodec(key))
