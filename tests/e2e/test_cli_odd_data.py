"""Odd stored data (issue 11): every reading CLI command reports an event it cannot read as
one line (or as a finding), never a traceback.

Given a real case written through the store, a poison event is put behind it directly in
SQL, as the schema owner can (not through the append): bytes that are not JSON, an envelope
whose sealed value does not open, or a payload no event model reads. Each reading command
then runs as a user runs it (``main``, on the real database)."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from dueprocess.cli.main import main
from dueprocess.domain import case as dc
from dueprocess.domain.envelope import envelope_for
from dueprocess.domain.records import access_stream
from dueprocess.store.eventstore import EventStore
from fixtures.case_examples import RESPONDENT_ID, T0, example_policy, file_report

CASE = "odd"
STREAM = f"case-{CASE}"


async def _given_a_case(store: EventStore) -> None:
    report = file_report(policy=example_policy())
    event = dc.decide(dc.CaseState.empty(CASE), report, T0)[0]
    await store.append(STREAM, 0, [envelope_for(event, event_id=uuid.uuid4(), recorded_at=T0)])


def _poison(kind: str, first: dict[str, Any]) -> bytes:
    if kind == "not-json":
        return b"\xff\x00 not an event"
    document = json.loads(json.dumps(first))
    document["event_id"] = str(uuid.uuid4())
    if kind == "unknown-shape":  # readable, but no event model reads it
        document["payload"] = {"type": "ReportFiled", "surprise": True}
    # "sealed-elsewhere": the sealed values are bound to their event id, now another one
    return json.dumps(document).encode()


async def _insert(conn: asyncpg.Connection, stream: str, version: int, data: bytes) -> None:
    await conn.execute(
        """INSERT INTO events (stream_id, stream_version, event_id, event_type, data, hash)
           VALUES ($1, $2, $3, 'ReportFiled', $4, '\\x00'::bytea)""",
        stream, version, uuid.uuid4(), data)


@pytest.fixture(params=["not-json", "sealed-elsewhere", "unknown-shape"])
async def poisoned(request: pytest.FixtureRequest, db_dsn: str, pool: asyncpg.Pool,
                   store: EventStore) -> str:
    await _given_a_case(store)
    first = json.loads(bytes(await pool.fetchval(
        "SELECT data FROM events WHERE stream_id = $1", STREAM)))
    conn = await asyncpg.connect(db_dsn)  # the owner, straight into the table
    try:
        await _insert(conn, STREAM, 2, _poison(request.param, first))
        await _insert(conn, access_stream(CASE), 1, _poison(request.param, first))
    finally:
        await conn.close()
    return str(request.param)


COMMANDS: list[tuple[str, ...]] = [
    ("case", "timeline", CASE),
    ("records", "read", CASE, "--as", "auditor:aud-1", "--purpose", "audit"),
    ("records", "export", RESPONDENT_ID, "--as", "dpo:dpo-1"),
    ("audit", "case", CASE),
    ("audit", "member", RESPONDENT_ID),
    ("audit", "access", CASE),
    ("stats",),
    ("verify",),
]
# Commands whose output is itself a finding (a multi-line report, exit 1).
REPORTS = {"audit case", "verify"}


# (poison, command) pairs the poison does not stop: the timeline and the export show stored
# envelopes as they are, and a member's standing skips a case event it cannot read, by
# design (domain/membership/history.py: the standing must stay answerable).
READABLE = {("unknown-shape", "case timeline"), ("unknown-shape", "records export"),
            ("unknown-shape", "audit member")}
# Commands that read a read model, not the events: the poison never reaches them (the
# projection quarantines it, shown by `projections status`); they say how far behind it is.
READ_MODEL = {"stats"}


async def test_every_reading_command_reports_odd_data_in_one_line(
    poisoned: str, db_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in [n for n in os.environ if n.startswith("DUEPROCESS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("DUEPROCESS_DATABASE_URL", db_dsn)
    monkeypatch.setenv("DUEPROCESS_DATA_DIR", str(tmp_path))
    for argv in COMMANDS:
        name = argv[0] if argv[0] in ("stats", "verify") else " ".join(argv[:2])
        for json_out in (False, True):
            # When the command runs as a user runs it (main, on its own event loop)
            code = await asyncio.to_thread(main, [*argv, "--json"] if json_out else list(argv))
            out, err = capsys.readouterr()
            shown = f"{poisoned}: dueprocess {' '.join(argv)}{' --json' if json_out else ''}"
            # Then never a traceback, and the exit status of a failed check
            assert "Traceback" not in out + err, (shown, err)
            if (poisoned, name) in READABLE:
                assert code == 0, (shown, out, err)
                continue
            if name in READ_MODEL:
                assert code == 0 and "behind the log" in err, (shown, out, err)
                continue
            assert code == 1, (shown, code, out, err)
            if name in REPORTS:  # a report with the finding among its failed checks
                assert "fail" in out.lower() or "problem" in out.lower(), (shown, out)
            elif json_out:  # one JSON object naming the rule (and the event when known)
                assert out.count("\n") == 1 and not err, (shown, out, err)
                error = json.loads(out)
                assert (error["rule"], error["type"]) == (
                    "stored-record-readable", "UnreadableStoredData"), (shown, error)
            else:  # one line on stderr
                assert not out and err.count("\n") == 1, (shown, out, err)
                assert err.startswith("dueprocess: odd stored data: "), (shown, err)
