"""The log checked against its signed heads, and inclusion proofs against the latest one.

``check`` walks the database's global order once beside the leaves the heads signed:
while they agree it keeps two frontiers (O(log n) memory) and compares the database's
root with each signed root at its size. At the first leaf that differs it names that
position, then classifies what changed from there on by event id: signed events that are
gone (removed), rows the heads never signed that sit before signed ones (inserted),
signed events whose row changed (altered: stream, version, type, bytes or chain hash) and
signed events out of their signed order (reordered, blaming only the moved ones). That
diagnosis holds the signed events after the first difference in memory; only a tampered
log pays it. Events after the latest head are only chain-checked.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from . import merkle
from .chain import Problem, VerifyReport, out_of_order
from .checkpoints import Checkpoint, CheckpointDir, CheckpointError, log_rows
from .db import Connection

Row = tuple[str, int, str, int, UUID, bytes]  # as checkpoints.log_rows yields


@dataclass
class Witness:
    directory: CheckpointDir
    public: Ed25519PublicKey

    def valid_heads(self, report: VerifyReport) -> list[Checkpoint]:
        """Heads whose signatures, leaves and consistency proofs hold, up to the first that
        does not (named as a witness problem: nothing after it can be trusted)."""
        heads: list[Checkpoint] = []
        leaves = merkle.Frontier()
        try:
            for path, head in self.directory.heads():
                try:
                    head.check(self.public)
                    _check_consistency(heads[-1] if heads else None, head)
                    for _, leaf in head.leaves:
                        leaves.append(bytes.fromhex(leaf))
                    if leaves.root().hex() != head.head.root_hash:
                        raise CheckpointError("its leaves do not reproduce the signed root")
                except CheckpointError as err:
                    raise CheckpointError(f"{path.name}: {err}") from None
                heads.append(head)
        except CheckpointError as err:
            report.problems.append(Problem(stream_id=None, stream_version=None, kind="witness",
                                           event_id=None, detail=str(err), check="checkpoint"))
        return heads

    async def check(self, conn: Connection, report: VerifyReport) -> None:
        heads = self.valid_heads(report)
        report.signed_heads = len(heads)
        report.signed_size = heads[-1].head.tree_size if heads else 0
        roots = {h.head.tree_size: h.head.root_hash for h in heads}
        signed = _signed_leaves(heads)
        rows = log_rows(conn)
        mine = merkle.Frontier()
        for position, event_id, leaf in signed:
            row = await anext(rows, None)
            if row is None or row[5] != leaf:
                report.first_difference = position
                await _diagnose(report, position, (position, event_id, leaf), signed, row, rows)
                break
            mine.append(row[5])
            # The database's own root at each signed size (the leaves already agree, and the
            # signed leaves reproduce the signed roots: this is the check in its own terms).
            if mine.size in roots and mine.root().hex() != roots[mine.size]:
                report.problems.append(Problem(
                    stream_id=None, stream_version=None, kind="witness", event_id=None,
                    position=mine.size, check="checkpoint",
                    detail=f"root at size {mine.size} differs from the signed head"))
        else:
            async for _ in rows:
                report.unsigned_events += 1

    async def prove(self, conn: Connection, event_id: UUID) -> dict[str, Any]:
        """An inclusion proof of ``event_id`` against the latest valid head, computed from
        the signed leaves; raises CheckpointError when it cannot be given."""
        report = VerifyReport()
        heads = self.valid_heads(report)
        if report.problems:
            raise CheckpointError(report.problems[0].detail)
        if not heads:
            raise CheckpointError(f"no signed heads in {self.directory.path}: "
                                  "run `dueprocess checkpoint` first")
        latest = heads[-1]
        found = next(((p, leaf) for p, e, leaf in _signed_leaves(heads) if e == str(event_id)),
                     None)
        if found is None:
            raise CheckpointError(f"event {event_id} is not covered by the latest signed head "
                                  f"(size {latest.head.tree_size})")
        index, leaf = found
        ranges = merkle.inclusion_ranges(index, latest.head.tree_size)
        # A second streaming pass over the signed leaves: O(log n) memory, as for the root.
        nodes = merkle.range_roots((leaf for _, _, leaf in _signed_leaves(heads)), ranges)
        row = await conn.fetchrow(
            """SELECT stream_id, stream_version, event_id, event_type, data, hash, global_position
                 FROM events WHERE event_id = $1""", event_id)
        event = None if row is None else {
            "stream_id": row["stream_id"], "stream_version": row["stream_version"],
            "event_id": str(event_id), "event_type": row["event_type"],
            "data_sha256": hashlib.sha256(bytes(row["data"])).hexdigest(),
            "chain_hash": bytes(row["hash"]).hex(),
            "global_position": row["global_position"],
        }
        return {
            "format": "dueprocess-inclusion-proof-v1", "leaf_index": index,
            "leaf_hash": leaf.hex(),
            "inclusion_path": [nodes[r].hex() for r in ranges],
            "event": event, "signed_head": latest.head.model_dump(),
            "signature": latest.signature, "key_id": latest.key_id,
        }


def _check_consistency(previous: Checkpoint | None, head: Checkpoint) -> None:
    old = previous.head.tree_size if previous else 0
    if head.previous_size != old:
        raise CheckpointError(f"extends size {head.previous_size}, but the head before it has "
                              f"size {old}: a checkpoint file is missing")
    if old and not merkle.verify_consistency(
        old, head.head.tree_size, bytes.fromhex(previous.head.root_hash if previous else ""),
        bytes.fromhex(head.head.root_hash), [bytes.fromhex(h) for h in head.consistency],
    ):
        raise CheckpointError(f"consistency proof from size {old} does not verify: the heads "
                              "fork")


def _signed_leaves(heads: list[Checkpoint]) -> Iterator[tuple[int, str, bytes]]:
    position = 0
    for head in heads:
        for event_id, leaf in head.leaves:
            yield position, event_id, bytes.fromhex(leaf)
            position += 1


async def _diagnose(
    report: VerifyReport, first: int, current: tuple[int, str, bytes],
    signed_rest: Iterator[tuple[int, str, bytes]], row: Row | None, rows: AsyncIterator[Row],
) -> None:
    def problem(kind: Any, position: int, r: Row | None, event_id: str, detail: str) -> None:
        report.problems.append(Problem(
            stream_id=r[2] if r else None, stream_version=r[3] if r else None, kind=kind,
            event_id=event_id, position=position, detail=detail, check="checkpoint"))

    signed = {e: (p, leaf) for p, e, leaf in [current, *signed_rest]}
    found: list[tuple[int, int, Row]] = []  # (signed position, position now, row)
    unsigned: list[tuple[int, Row]] = []
    position = first
    while row is not None and signed:
        hit = signed.pop(str(row[4]), None)
        if hit is None:
            unsigned.append((position, row))
        else:
            for at, r in unsigned:  # before a signed event: cannot be a later append
                problem("inserted", at, r, str(r[4]),
                        "not in the signed log, yet placed before signed events")
            unsigned.clear()
            if hit[1] != row[5]:
                problem("altered", position, row, str(row[4]),
                        f"differs from the event signed at position {hit[0]} (stream, "
                        "version, type, stored bytes or chain hash changed)")
            found.append((hit[0], position, row))
        position += 1
        row = await anext(rows, None)
    report.unsigned_events = len(unsigned) + (row is not None)
    async for _ in rows:
        report.unsigned_events += 1
    for event_id, (at, _) in sorted(signed.items(), key=lambda item: item[1][0]):
        problem("removed", at, None, event_id, f"signed at position {at}, missing from the log")
    for i in sorted(out_of_order([s for s, _, _ in found])):
        signed_at, now, r = found[i]
        problem("reordered", now, r, str(r[4]),
                f"signed at position {signed_at}, now out of the signed order")
