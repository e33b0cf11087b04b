"""Tamper evidence: re-check every stream's hash chain against the stored bytes.

Each event's hash is SHA-256(previous hash || stored bytes). Walking a stream in version
order we can name each event that was altered (bytes or copied columns no longer match),
removed (a version is missing, or the head says the stream is longer) or reordered (an
event's bytes say it belongs at another version, or global order disagrees with version
order). After a break the walk re-anchors on the stored hash so one bad row does not
condemn every later one. Only the append function moves a stream's head, so an event
beyond the head was inserted outside the append path: it is flagged even when it chains
correctly.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

import asyncpg
from pydantic import BaseModel

from .db import Connection

ProblemKind = Literal["altered", "removed", "reordered"]


class Problem(BaseModel):
    stream_id: str
    stream_version: int
    kind: ProblemKind
    event_id: str | None
    detail: str


class VerifyReport(BaseModel):
    streams: int = 0
    events: int = 0
    problems: list[Problem] = []

    @property
    def ok(self) -> bool:
        return not self.problems


class _StreamWalk:
    def __init__(
        self, stream_id: str, report: VerifyReport, head: tuple[int, bytes] | None
    ) -> None:
        self.stream_id = stream_id
        self.report = report
        self.head = head
        self.prev_hash = b""
        self.prev_version = 0
        self.prev_position = 0
        self.hash_at_head: bytes | None = None

    def flag(self, version: int, kind: ProblemKind, event_id: str | None, detail: str) -> None:
        self.report.problems.append(Problem(
            stream_id=self.stream_id, stream_version=version, kind=kind,
            event_id=event_id, detail=detail,
        ))

    def check(self, row: asyncpg.Record) -> None:
        version: int = row["stream_version"]
        data = bytes(row["data"])
        stored_hash = bytes(row["hash"])
        doc = _parse(data)
        event_id = str(row["event_id"])
        if self.head is not None and version > self.head[0]:
            self.flag(version, "altered", event_id, "event beyond the recorded stream head "
                      f"(version {self.head[0]}): inserted outside the append path")
            return
        if self.head is not None and version == self.head[0]:
            self.hash_at_head = stored_hash
        if version != self.prev_version + 1:
            missing = ", ".join(str(v) for v in range(self.prev_version + 1, version))
            self.flag(version, "removed", None, f"version(s) {missing} missing before this event")
        elif row["global_position"] < self.prev_position:
            self.flag(version, "reordered", event_id, "global order contradicts stream order")
        broken = self._check_content(row, doc, event_id, version)
        if not broken and hashlib.sha256(self.prev_hash + data).digest() != stored_hash:
            if version == self.prev_version + 1:
                self.flag(version, "altered", event_id,
                          "hash chain broken: stored bytes or hash were changed")
        self.prev_hash = stored_hash
        self.prev_version = version
        self.prev_position = row["global_position"]

    def _check_content(
        self, row: asyncpg.Record, doc: dict[str, Any] | None, event_id: str, version: int
    ) -> bool:
        if doc is None:
            self.flag(version, "altered", event_id, "stored bytes are not the canonical JSON")
            return True
        if doc.get("stream_id") != self.stream_id or doc.get("stream_version") != version:
            self.flag(version, "reordered", event_id,
                      f"stored bytes belong at {doc.get('stream_id')!r} "
                      f"version {doc.get('stream_version')}")
            return True
        copies = {"event_id": event_id, "event_type": row["event_type"]}
        for name, value in copies.items():
            if doc.get(name) != value:
                self.flag(version, "altered", event_id, f"column {name} differs from stored bytes")
                return True
        return False

    def finish(self) -> None:
        if self.head is None:
            self.flag(self.prev_version, "altered", None, "stream has no head record")
            return
        head_version, head_hash = self.head
        if head_version > self.prev_version:
            self.flag(head_version, "removed", None,
                      f"head says version {head_version}, last event is {self.prev_version}")
        elif self.hash_at_head is not None and head_hash != self.hash_at_head:
            self.flag(head_version, "altered", None, "head hash differs from the chain's end")


def _parse(data: bytes) -> dict[str, Any] | None:
    try:
        doc = json.loads(data)
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


async def verify_store(conn: Connection) -> VerifyReport:
    """Re-check every stream (streaming rows, constant memory per stream)."""
    report = VerifyReport()
    walk: _StreamWalk | None = None
    # One snapshot for heads and events, so concurrent appends are not mistaken for damage.
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        heads = {
            r["stream_id"]: (r["version"], bytes(r["head_hash"]))
            for r in await conn.fetch("SELECT stream_id, version, head_hash FROM streams")
        }
        async for row in conn.cursor(
            """SELECT stream_id, stream_version, global_position, event_id, event_type, data, hash
                 FROM events ORDER BY stream_id, stream_version""",
            prefetch=2000,
        ):
            if walk is None or walk.stream_id != row["stream_id"]:
                if walk is not None:
                    walk.finish()
                walk = _StreamWalk(row["stream_id"], report, heads.pop(row["stream_id"], None))
                report.streams += 1
            report.events += 1
            walk.check(row)
    if walk is not None:
        walk.finish()
    for stream_id, (version, _) in sorted(heads.items()):
        report.problems.append(Problem(
            stream_id=stream_id, stream_version=version, kind="removed", event_id=None,
            detail="every event of this stream is missing",
        ))
        report.streams += 1
    return report
