"""The signed checkpoint's format (RFC 9162 style): the Merkle leaf of one stored event, the
tree head that is signed, and the checkpoint file around it, which checks itself against
the signature. Split out of checkpoints.py (the writer), which re-exports every name here.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from typing import Annotated, Literal
from uuid import UUID

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, NonNegativeInt, StringConstraints

from . import merkle

# Domain separation: a signature over a tree head can never be replayed as anything else.
HEAD_PREFIX = b"dueprocess signed tree head v1\n"
LEAF_PREFIX = b"dueprocess event v1\n"
Hash = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]  # SHA-256, hex


class CheckpointError(Exception):
    """A key or checkpoint file that cannot be used; the message names the file."""


def leaf_input(stream_id: str, stream_version: int, event_id: UUID, event_type: str,
               data_sha256: bytes, chain_hash: bytes) -> bytes:
    """The Merkle leaf data of one stored event row: its stream, version, id and type, the
    SHA-256 of its stored bytes and its chain hash, each length-prefixed."""
    sid, typ = stream_id.encode(), event_type.encode()
    return b"".join((
        LEAF_PREFIX, struct.pack(">I", len(sid)), sid, struct.pack(">q", stream_version),
        event_id.bytes, struct.pack(">I", len(typ)), typ, data_sha256,
        struct.pack(">I", len(chain_hash)), chain_hash,
    ))


def event_leaf(stream_id: str, stream_version: int, event_id: UUID, event_type: str,
               data: bytes, chain_hash: bytes) -> bytes:
    return merkle.leaf_hash(leaf_input(stream_id, stream_version, event_id, event_type,
                                       hashlib.sha256(data).digest(), chain_hash))


class TreeHead(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    tree_size: NonNegativeInt
    root_hash: Hash
    timestamp: NonNegativeInt  # milliseconds since the epoch, as RFC 9162

    def message(self) -> bytes:
        return HEAD_PREFIX + json.dumps(self.model_dump(), sort_keys=True,
                                        separators=(",", ":")).encode()


class Checkpoint(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal["dueprocess-checkpoint-v1"] = "dueprocess-checkpoint-v1"
    head: TreeHead
    signature: str  # base64 Ed25519 over head.message()
    key_id: str  # hex SHA-256 of the raw public key
    previous_size: NonNegativeInt
    consistency: list[Hash]  # RFC 9162 proof from previous_size to head.tree_size
    leaves: list[tuple[str, Hash]]  # (event id, leaf hash) for previous_size .. tree_size-1
    frontier: list[Hash]
    cursor: tuple[str, int]  # (tx_id, global_position) of the last leaf

    def check(self, public: Ed25519PublicKey) -> None:
        """The signature, and that the leaves and frontier reproduce the signed root."""
        if self.key_id != key_id(public):
            raise CheckpointError(f"signed by another key (key id {self.key_id[:16]})")
        try:
            public.verify(base64.b64decode(self.signature), self.head.message())
        except (InvalidSignature, ValueError):
            raise CheckpointError("signature does not verify") from None
        if len(self.leaves) != self.head.tree_size - self.previous_size:
            raise CheckpointError("leaf count does not match the signed sizes")
        try:
            frontier = merkle.Frontier(self.head.tree_size,
                                       [bytes.fromhex(h) for h in self.frontier])
        except ValueError as err:
            raise CheckpointError(f"frontier: {err}") from None
        if frontier.root().hex() != self.head.root_hash:
            raise CheckpointError("frontier does not reproduce the signed root")


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def public_pem(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.PEM,
                               serialization.PublicFormat.SubjectPublicKeyInfo)
