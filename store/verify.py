"""Tamper evidence: each stream's hash chain, and the whole log against signed heads.

The chain check: each event's hash is SHA-256(previous hash || stored bytes). Per stream we
name each event that was altered (bytes or copied columns no longer match), removed (a
version is missing, or the head says the stream is longer) or reordered (its bytes say it
belongs at another version, or global order disagrees with version order). An event's
hash is judged against its predecessor by content (the row whose bytes say version v-1),
so a moved or swapped row never condemns an untouched neighbour. Only the append function
moves a stream's head, so an event beyond the head is flagged even when it chains.

A database writer can re-chain a stream, move its head back or drop a stream and every
chain still holds: the check against signed heads (``witness``) catches those. See
``store.checkpoints`` and ``store.witness``.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import asyncpg
import orjson
from pydantic import BaseModel

from .db import Connection

if TYPE_CHECKING:
    from .witness import Witness

ProblemKind = Literal["altered", "removed", "reordered", "inserted", "witness"]


class Problem(BaseModel):
    stream_id: str | None
    stream_version: int | None
    kind: ProblemKind
    event_id: str | None
    detail: str
    # Index in the signed log's global order, for problems found against signed heads.
    position: int | None = None
    check: Literal["chain", "checkpoint"] = "chain"


class VerifyReport(BaseModel):
    streams: int = 0
    events: int = 0
    problems: list[Problem] = []
    signed_heads: int = 0  # signed heads found and checked
    signed_size: int = 0  # events covered by the latest valid signed head
    unsigned_events: int = 0  # events after the latest head: only chain-checked
    first_difference: int | None = None  # earliest position where the log left the heads

    @property
    def ok(self) -> bool:
        return not self.problems


def out_of_order(values: list[Any]) -> set[int]:
    """Indexes to blame for ``values`` not being ascending: the fewer of (a) those not at
    their sorted rank (exactly the two of a swap) and (b) those outside one longest
    ascending run (exactly the one of a move). Never blames more than needed."""
    ranked = sorted(values)
    by_rank = {i for i, (v, r) in enumerate(zip(values, ranked, strict=True)) if v != r}
    tails: list[int] = []  # index ending the best run of each length
    before: list[int | None] = [None] * len(values)
    for i, v in enumerate(values):
        lo, hi = 0, len(tails)
        while lo < hi:
            mid = (lo + hi) // 2
            if values[tails[mid]] < v:
                lo = mid + 1
            else:
                hi = mid
        before[i] = tails[lo - 1] if lo else None
        tails[lo:lo + 1] = [i]
    keep: set[int] = set()
    at = tails[-1] if tails else None
    while at is not None:
        keep.add(at)
        at = before[at]
    by_run = set(range(len(values))) - keep
    return by_rank if len(by_rank) <= len(by_run) else by_run


@dataclass
class _Row:
    version: int
    position: tuple[int, int]
    event_id: str
    event_type: str
    data: bytes
    hash: bytes
    doc: dict[str, Any] | None


class _StreamCheck:
    """One stream's rows, judged when the stream ends (a stream is one case or member,
    so holding it is small)."""

    def __init__(self, stream_id: str, report: VerifyReport,
                 head: tuple[int, bytes] | None) -> None:
        self.stream_id, self.report, self.head = stream_id, report, head
        self.rows: list[_Row] = []

    def flag(self, version: int, kind: ProblemKind, event_id: str | None, detail: str) -> None:
        self.report.problems.append(Problem(stream_id=self.stream_id, stream_version=version,
                                            kind=kind, event_id=event_id, detail=detail))

    def add(self, row: asyncpg.Record) -> None:
        self.rows.append(_Row(row["stream_version"], (int(row["tx"]), row["global_position"]),
                              str(row["event_id"]), row["event_type"], bytes(row["data"]),
                              bytes(row["hash"]), _parse(bytes(row["data"]))))

    def finish(self) -> None:
        head_version = self.head[0] if self.head is not None else None
        by_content: dict[int, _Row] = {}  # doc version -> row, for rows of this stream
        for row in self.rows:
            if row.doc is not None and row.doc.get("stream_id") == self.stream_id \
                    and isinstance(row.doc.get("stream_version"), int):
                by_content.setdefault(row.doc["stream_version"], row)
        previous, hash_at_head = 0, None
        for row in self.rows:
            if head_version is not None and row.version > head_version:
                self.flag(row.version, "altered", row.event_id, "event beyond the recorded "
                          f"stream head (version {head_version}): inserted outside the append "
                          "path")
                continue
            if row.version == head_version:
                hash_at_head = row.hash
            if row.version != previous + 1:
                missing = ", ".join(str(v) for v in range(previous + 1, row.version))
                self.flag(row.version, "removed", None,
                          f"version(s) {missing} missing before this event")
            previous = row.version
            if self._content_ok(row):
                before = b"" if row.version == 1 else (
                    by_content[row.version - 1].hash if row.version - 1 in by_content else None)
                if before is not None and hashlib.sha256(before + row.data).digest() != row.hash:
                    self.flag(row.version, "altered", row.event_id,
                              "hash chain broken: stored bytes or hash were changed")
        in_content_order = [by_content[v] for v in sorted(by_content)]
        for i in sorted(out_of_order([r.position for r in in_content_order])):
            row = in_content_order[i]
            self.flag(row.version, "reordered", row.event_id,
                      "global order contradicts stream order")
        self._check_head(previous, hash_at_head)

    def _content_ok(self, row: _Row) -> bool:
        doc = row.doc
        if doc is None:
            self.flag(row.version, "altered", row.event_id,
                      "stored bytes are not the canonical JSON")
            return False
        if doc.get("stream_id") != self.stream_id or doc.get("stream_version") != row.version:
            self.flag(row.version, "reordered", row.event_id,
                      f"stored bytes belong at {doc.get('stream_id')!r} "
                      f"version {doc.get('stream_version')}")
            return False
        for name, value in {"event_id": row.event_id, "event_type": row.event_type}.items():
            if doc.get(name) != value:
                self.flag(row.version, "altered", row.event_id,
                          f"column {name} differs from stored bytes")
                return False
        return True

    def _check_head(self, last: int, hash_at_head: bytes | None) -> None:
        if self.head is None:
            self.flag(last, "altered", None, "stream has no head record")
            return
        head_version, head_hash = self.head
        if head_version > last:
            self.flag(head_version, "removed", None,
                      f"head says version {head_version}, last event is {last}")
        elif hash_at_head is not None and head_hash != hash_at_head:
            self.flag(head_version, "altered", None, "head hash differs from the chain's end")


def _parse(data: bytes) -> dict[str, Any] | None:
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    return doc if isinstance(doc, dict) else None


_CHAIN_COLUMNS = """stream_id, stream_version, tx_id::text AS tx, global_position, event_id,
                    event_type, data, hash"""
# Keyset pages in stream order on the unique (stream_id, stream_version) index: a stream's
# chain is judged in its own order, and memory is one page plus one stream, whatever the
# log's size ($4: only these streams, or NULL for all).
_CHAIN_PAGE = f"""SELECT {_CHAIN_COLUMNS} FROM events
                   WHERE (stream_id, stream_version) > ($1, $2)
                     AND ($4::text[] IS NULL OR stream_id = ANY($4::text[]))
                   ORDER BY stream_id, stream_version LIMIT $3"""
_HEADS = "SELECT stream_id, version, head_hash FROM streams WHERE stream_id = ANY($1::text[])"
# Heads of streams that have no event at all (every event removed).
_EMPTY_HEADS = """SELECT s.stream_id, s.version FROM streams s
                   WHERE ($1::text[] IS NULL OR s.stream_id = ANY($1::text[]))
                     AND NOT EXISTS (SELECT 1 FROM events e WHERE e.stream_id = s.stream_id)
                   ORDER BY s.stream_id"""
PAGE_SIZE = 5000


async def chain_pages(
    conn: Connection, page: int = PAGE_SIZE, streams: list[str] | None = None
) -> AsyncGenerator[list[asyncpg.Record], None]:
    """Every event (or those of ``streams``) in stream order, ``page`` rows at a time."""
    after: tuple[str, int] = ("", 0)
    while rows := await conn.fetch(_CHAIN_PAGE, *after, page, streams):
        yield list(rows)
        after = (rows[-1]["stream_id"], rows[-1]["stream_version"])


async def check_pages(
    conn: Connection, report: VerifyReport, pages: AsyncIterator[Sequence[asyncpg.Record]]
) -> None:
    """Judge each stream's chain from pages of rows in stream order; only the stream being
    read and the heads of the page's streams are held."""
    check: _StreamCheck | None = None
    async for rows in pages:
        new = sorted({r["stream_id"] for r in rows} - {check.stream_id if check else None})
        heads = {r["stream_id"]: (r["version"], bytes(r["head_hash"]))
                 for r in await conn.fetch(_HEADS, new)}
        for row in rows:
            if check is None or check.stream_id != row["stream_id"]:
                if check is not None:
                    check.finish()
                check = _StreamCheck(row["stream_id"], report, heads.get(row["stream_id"]))
                report.streams += 1
            report.events += 1
            check.add(row)
    if check is not None:
        check.finish()


async def _check_chains(
    conn: Connection, report: VerifyReport, streams: list[str] | None = None,
    page: int = PAGE_SIZE,
) -> None:
    await check_pages(conn, report, chain_pages(conn, page, streams))
    for row in await conn.fetch(_EMPTY_HEADS, streams):
        report.problems.append(Problem(
            stream_id=row["stream_id"], stream_version=row["version"], kind="removed",
            event_id=None, detail="every event of this stream is missing",
        ))
        report.streams += 1


async def verify_store(
    conn: Connection, witness: Witness | None = None, *, page: int = PAGE_SIZE
) -> VerifyReport:
    """Re-check every stream's chain and, given a witness, the whole log
    against the signed heads; one snapshot for all, so concurrent appends are not damage."""
    report = VerifyReport()
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        await _check_chains(conn, report, page=page)
        if witness is not None:
            await witness.check(conn, report)
    return report


async def verify_streams(conn: Connection, stream_ids: list[str]) -> VerifyReport:
    """Re-check the chains of the named streams only (what an erasure touched), in one
    snapshot. A stream with neither head nor events is not reported."""
    report = VerifyReport()
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        await _check_chains(conn, report, sorted(set(stream_ids)))
    return report
