"""Encryption of Temporal payloads (commands, results, state) at rest in Temporal.

The event store is the system of record and encrypts personal data per subject; but the
commands that carry that data also pass through Temporal's history, in clear unless a
codec seals them. With DUEPROCESS_PAYLOAD_KEY set (32 random bytes, base64), every
payload the client, workers and replayers exchange is AES-256-GCM encrypted; the key id
travels in the payload metadata so keys can be rotated (old keys stay for decoding).

On by default: the embedded Temporal dev server gets a key generated into the data dir
(PAYLOAD_KEY_FILE, 0600), which the CLI's client commands read too; an explicit Temporal
address needs DUEPROCESS_PAYLOAD_KEY, or the waiver WAIVER to run with clear history.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import hashlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import PydanticPayloadConverter
from temporalio.converter import (
    CompositePayloadConverter,
    DataConverter,
    EncodingPayloadConverter,
    PayloadCodec,
)

from .sealing import ChainCodec, Keyring, SubjectSealingCodec

ENCODING = b"binary/dueprocess-aesgcm"
KEY_VARIABLE = "DUEPROCESS_PAYLOAD_KEY"
# DUEPROCESS_PAYLOAD_KEY=none-i-accept-clear-history: Temporal keeps payloads in clear.
WAIVER = "none-i-accept-clear-history"
PAYLOAD_KEY_FILE = "payload.key"


class PayloadKeyMissing(ValueError):
    """An explicit Temporal address and no payload key (nor the waiver)."""


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"dueprocess-payload-key|" + key).hexdigest()[:16]


def payload_key(configured: str | None, *, data_dir: Path, embedded: bool) -> bytes | None:
    """The key sealing Temporal payloads: the configured one; None when waived; for the
    embedded dev server the data dir's (generated the first time, 0600). Client and
    worker call this with the same settings, so they agree."""
    if configured == WAIVER:
        return None
    if configured:
        return parse_key(configured)
    if not embedded:
        raise PayloadKeyMissing(
            f"{KEY_VARIABLE}: required with an explicit Temporal address (base64 of 32 "
            f"random bytes, the same for clients and workers), or {KEY_VARIABLE}={WAIVER} "
            "to keep workflow histories in clear")
    path = data_dir / PAYLOAD_KEY_FILE
    try:
        return parse_key(path.read_text().strip())
    except FileNotFoundError:
        pass
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = os.urandom(32)
    try:  # O_EXCL: two processes starting together keep the first key written
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return parse_key(path.read_text().strip())
    with os.fdopen(fd, "w") as out:
        out.write(base64.b64encode(key).decode() + "\n")
    return key


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


class SharedPayloadConverter(CompositePayloadConverter):
    """temporalio's pydantic payload converter (the same encodings, the same bytes), its
    encodings built once per process.

    The SDK builds a DataConverter, and so a payload converter, twice for every workflow
    activation, and each workflow run builds one in its sandbox; PydanticPayloadConverter
    builds a pydantic serializer and an empty type-adapter cache each time: 6% of the
    worker's main-thread CPU in bench/decisions.py (py-spy, 2026-12-02), and a cache per
    cached case. The encodings keep no state but that cache (a functools.lru_cache, safe
    across threads), so one set serves every instance."""

    def __init__(self) -> None:
        super().__init__(*_pydantic_encodings())


@functools.cache
def _pydantic_encodings() -> tuple[EncodingPayloadConverter, ...]:
    return tuple(PydanticPayloadConverter().converters.values())


# temporalio.contrib.pydantic's pydantic_data_converter, with the shared encodings.
PAYLOADS = DataConverter(payload_converter_class=SharedPayloadConverter)


def data_converter(key: bytes | None, keyring: Keyring | None = None) -> DataConverter:
    """The pydantic converter, sealed when a payload key is configured; with a keyring,
    each personal value is first sealed under its subject's own key (sealing.py)."""
    codecs: list[PayloadCodec] = []
    if keyring is not None:
        codecs.append(SubjectSealingCodec(keyring))
    if key is not None:
        codecs.append(EncryptionCodec(key))
    if not codecs:
        return PAYLOADS
    codec = codecs[0] if len(codecs) == 1 else ChainCodec(codecs)
    return dataclasses.replace(PAYLOADS, payload_codec=codec)
