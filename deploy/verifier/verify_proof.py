#!/usr/bin/env python3
"""Check a dueprocess inclusion proof against a signed tree head and the log's public key.

Standalone on purpose: Python's standard library and `cryptography` only, no dueprocess
import, so anyone can audit these lines and run them anywhere.

    dueprocess prove EVENT_ID --json > proof.json
    python3 verify_proof.py proof.json checkpoint-key.pub.pem [--head sth-000000000000042.json]

--head takes the signed head from a checkpoint file (e.g. from the witness repository)
instead of trusting the copy inside the proof. Exit 0: verified; 1: not; 2: bad input.
"""

import argparse
import base64
import hashlib
import json
import struct
import sys
import uuid
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import load_pem_public_key


def node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_path(leaf: bytes, index: int, size: int, path: list[bytes]) -> bytes | None:
    # RFC 9162 section 2.1.3.2
    if not 0 <= index < size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node(r, p)
        fn, sn = fn >> 1, sn >> 1
    return r if sn == 0 else None


def event_leaf(e: dict[str, Any]) -> bytes:  # must match dueprocess.store.checkpoints.leaf_input
    sid, typ = e["stream_id"].encode(), e["event_type"].encode()
    chain = bytes.fromhex(e["chain_hash"])
    data = b"".join((b"dueprocess event v1\n", struct.pack(">I", len(sid)), sid,
                     struct.pack(">q", e["stream_version"]), uuid.UUID(e["event_id"]).bytes,
                     struct.pack(">I", len(typ)), typ, bytes.fromhex(e["data_sha256"]),
                     struct.pack(">I", len(chain)), chain))
    return hashlib.sha256(b"\x00" + data).digest()


def check(proof: dict[str, Any], public_key: Any, head_file: dict[str, Any] | None) -> str | None:
    head, signature = proof["signed_head"], proof["signature"]
    if head_file is not None:
        head, signature = head_file["head"], head_file["signature"]
        if head != proof["signed_head"]:
            return "the proof is for another head than the one given"
    message = b"dueprocess signed tree head v1\n" + json.dumps(
        head, sort_keys=True, separators=(",", ":")).encode()
    try:
        public_key.verify(base64.b64decode(signature), message)
    except InvalidSignature:
        return "the tree head's signature does not verify with this public key"
    leaf = bytes.fromhex(proof["leaf_hash"])
    if proof.get("event") and event_leaf(proof["event"]) != leaf:
        return "the event's fields do not give the proof's leaf hash"
    path = [bytes.fromhex(h) for h in proof["inclusion_path"]]
    if root_from_path(leaf, proof["leaf_index"], head["tree_size"], path) != bytes.fromhex(
            head["root_hash"]):
        return "the inclusion path does not lead to the signed root"
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("proof")
    parser.add_argument("public_key", help="PEM file of the checkpoint signing key's public half")
    parser.add_argument("--head", help="a checkpoint file (sth-*.json) holding the signed head")
    args = parser.parse_args()
    try:
        with open(args.proof) as f:
            proof = json.load(f)
        with open(args.public_key, "rb") as f:
            public_key = load_pem_public_key(f.read())
        head_file = None
        if args.head:
            with open(args.head) as f:
                head_file = json.load(f)
        problem = check(proof, public_key, head_file)
    except (OSError, ValueError, KeyError, TypeError) as err:
        print(f"cannot check: {type(err).__name__}: {err}", file=sys.stderr)
        return 2
    if problem:
        print(f"FAILED: {problem}")
        return 1
    head = proof["signed_head"]
    print(f"OK: event {proof['event']['event_id'] if proof.get('event') else '?'} is leaf "
          f"{proof['leaf_index']} of the signed log of {head['tree_size']} events "
          f"(root {head['root_hash']}, signed at {head['timestamp']} ms since the epoch)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
