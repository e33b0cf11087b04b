"""Odd stored data over HTTP (issue 11): a record the server cannot read is one problem
naming the rule, never a traceback, and not blamed on the client; to an audit, a finding."""

from __future__ import annotations

import json

import asyncpg
from e2e.test_cli_odd_data import CASE, STREAM, _given_a_case, _insert, _poison

from .conftest import Api


async def test_an_unreadable_record_is_one_problem_over_http(api: Api, db_dsn: str) -> None:
    # given a case whose stored record holds an event nobody can read
    await _given_a_case(api.store)
    first = json.loads(await api.pool.fetchval(
        "SELECT data FROM events WHERE stream_id = $1", STREAM))
    conn = await asyncpg.connect(db_dsn)  # the owner, straight into the table
    try:
        await _insert(conn, STREAM, 2, _poison("not-json", first))
    finally:
        await conn.close()
    # when an auditor asks for the case's audit
    response = await api.http.get(f"/audit/cases/{CASE}", headers=api.auth("aud-1", "auditor"))
    # then it is a finding, as `dueprocess audit case` and the console report it: the audit
    # fails, naming the stored event it cannot read and the record's broken chain
    assert response.status_code == 200, response.text
    audit = response.json()
    checks = {c["check_id"]: c for c in audit["checks"]}
    assert audit["ok"] is False
    assert checks["stored-record-readable"]["status"] == "fail"
    assert STREAM in checks["stored-record-readable"]["explanation"]
    assert checks["stored-record-intact"]["status"] == "fail"
    assert "Traceback" not in response.text
