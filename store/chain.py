"""One stream's hash chain judged row by row, naming each event that was altered, removed
or reordered (see ``store.verify``, which reads the log and calls this only for a stream
whose fast check did not hold); and the problem report both verify and the witness fill."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Literal

import asyncpg
import orjson
from pydantic import BaseModel

from .intact import states, stream_key

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
    doc: dict[str, Any] | None  # parsed: only for a row whose bytes ``states`` does not read
    stated: bool  # the bytes state the row's columns in the append's layout (``states``)


class StreamCheck:
    """One stream's rows, judged when the stream ends (a stream is one case or member,
    so holding it is small)."""

    def __init__(self, stream_id: str, report: VerifyReport,
                 head: tuple[int, bytes] | None) -> None:
        self.stream_id, self.report, self.head = stream_id, report, head
        self.rows: list[_Row] = []
        self.key = stream_key(stream_id)

    def flag(self, version: int, kind: ProblemKind, event_id: str | None, detail: str) -> None:
        self.report.problems.append(Problem(stream_id=self.stream_id, stream_version=version,
                                            kind=kind, event_id=event_id, detail=detail))

    def add(self, row: asyncpg.Record) -> None:
        data = bytes(row["data"])
        stated = states(data, self.key, row["stream_version"], str(row["event_id"]),
                        row["event_type"])
        self.rows.append(_Row(row["stream_version"], (int(row["tx"]), row["global_position"]),
                              str(row["event_id"]), row["event_type"], data,
                              bytes(row["hash"]), None if stated else _parse(data), stated))

    def finish(self) -> None:
        head_version = self.head[0] if self.head is not None else None
        by_content: dict[int, _Row] = {}  # doc version -> row, for rows of this stream
        for row in self.rows:
            if row.stated:
                by_content.setdefault(row.version, row)
            elif row.doc is not None and row.doc.get("stream_id") == self.stream_id \
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
        if row.stated:  # what the fast check reads too (``intact``): one definition
            return True
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
