"""Signed checkpoints: the writer, the witness checks, `dueprocess checkpoint|prove|verify`
and the standalone proof verifier (run as a subprocess, as an auditor would)."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import asyncpg
import dueprocess
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from dueprocess.store import merkle
from dueprocess.store.checkpoints import (
    CheckpointDir,
    load_key,
    log_rows,
    public_pem,
    run_checkpoints,
    write_checkpoint,
)
from dueprocess.store.eventstore import EventStore
from dueprocess.store.verify import verify_store
from dueprocess.store.witness import Witness
from fixtures.events import ev

VERIFIER = Path(dueprocess.__file__).parent / "deploy" / "verifier" / "verify_proof.py"


async def _append(store: EventStore, stream: str, n: int) -> list[str]:
    events = [ev(payload={"i": i}) for i in range(n)]
    version = await store.version(stream)
    await store.append(stream, version, events)
    return [str(e.event_id) for e in events]


async def test_heads_extend_one_another_and_match_a_full_recomputation(
    store: EventStore, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    key, directory = Ed25519PrivateKey.generate(), CheckpointDir(tmp_path / "cp")
    await _append(store, "a", 3)
    async with pool.acquire() as conn:
        first = await write_checkpoint(conn, directory, key)
        assert await write_checkpoint(conn, directory, key) is None  # nothing new
        await _append(store, "b", 4)
        second = await write_checkpoint(conn, directory, key)
        async with conn.transaction():
            leaves = [row[5] async for row in log_rows(conn)]
    assert first is not None and second is not None
    assert (second[1].previous_size, second[1].head.tree_size) == (3, 7)
    assert second[1].head.root_hash == merkle.root(leaves).hex()
    assert merkle.verify_consistency(
        3, 7, bytes.fromhex(first[1].head.root_hash), bytes.fromhex(second[1].head.root_hash),
        [bytes.fromhex(h) for h in second[1].consistency])
    assert [p.name for p in directory.files()] == ["sth-000000000000003.json",
                                                   "sth-000000000000007.json"]
    assert stat.S_IMODE(os.stat(second[0]).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(directory.path).st_mode) == 0o700


def test_a_generated_key_is_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "data" / "checkpoint-ed25519.pem"
    key = load_key(path, create=True)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_key(path, create=True).public_key() == key.public_key()


async def _signed_twice(store: EventStore, pool: asyncpg.Pool, tmp_path: Path
                        ) -> tuple[Ed25519PrivateKey, CheckpointDir]:
    key, directory = Ed25519PrivateKey.generate(), CheckpointDir(tmp_path / "cp")
    async with pool.acquire() as conn:
        await _append(store, "a", 3)
        await write_checkpoint(conn, directory, key)
        await _append(store, "b", 3)
        await write_checkpoint(conn, directory, key)
    return key, directory


async def _witness_problems(pool: asyncpg.Pool, witness: Witness) -> list[str]:
    async with pool.acquire() as conn:
        report = await verify_store(conn, witness)
    return [p.detail for p in report.problems if p.kind == "witness"]


async def test_a_head_signed_by_another_key_is_named(
    store: EventStore, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    _, directory = await _signed_twice(store, pool, tmp_path)
    other = Ed25519PrivateKey.generate().public_key()
    [problem] = await _witness_problems(pool, Witness(directory, other))
    assert "sth-000000000000003.json: signed by another key" in problem


async def test_edited_witness_files_and_a_missing_head_are_named(
    store: EventStore, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    key, directory = await _signed_twice(store, pool, tmp_path)
    witness = Witness(directory, key.public_key())
    second = directory.files()[1]
    original = json.loads(second.read_text())
    edited = dict(original, leaves=[[e, "00" * 32] for e, _ in original["leaves"]])
    second.write_text(json.dumps(edited))
    assert "leaves do not reproduce the signed root" in \
        (await _witness_problems(pool, witness))[0]
    forged = dict(original, head=dict(original["head"], tree_size=99))
    second.write_text(json.dumps(forged))
    assert "signature does not verify" in (await _witness_problems(pool, witness))[0]
    second.write_text(json.dumps(dict(original, frontier=["zz"])))
    assert "not a checkpoint (frontier.0" in (await _witness_problems(pool, witness))[0]
    second.write_text("{not json")
    assert "not a checkpoint" in (await _witness_problems(pool, witness))[0]
    second.write_text(json.dumps(original))
    directory.files()[0].unlink()
    assert "a checkpoint file is missing" in (await _witness_problems(pool, witness))[0]


async def test_the_worker_task_signs_a_head_when_it_starts_and_stops(
    store: EventStore, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    await _append(store, "a", 2)
    directory, stop = CheckpointDir(tmp_path / "cp"), asyncio.Event()
    stop.set()  # already asked to stop: it signs once on the way in, then returns
    await run_checkpoints(pool, directory, Ed25519PrivateKey.generate(), 3600, stop)
    latest = directory.latest()
    assert latest is not None and latest.head.tree_size == 2


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dueprocess", *args], env=env,
                          capture_output=True, text=True, timeout=120)


async def test_prove_gives_a_proof_the_standalone_verifier_accepts(
    store: EventStore, db_dsn: str, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUEPROCESS_")}
    env.update(DUEPROCESS_DATABASE_URL=db_dsn, DUEPROCESS_DATA_DIR=str(tmp_path / "data"),
               PYTHONPATH=str(Path(dueprocess.__file__).parent.parent))
    ids = await _append(store, "a", 5)
    signed = await asyncio.to_thread(_cli, env, "checkpoint", "--json")
    assert signed.returncode == 0, signed.stderr
    head = json.loads(signed.stdout)
    assert head["written"] and head["head"]["tree_size"] == 5
    await _append(store, "b", 2)  # after the head: not provable yet, still verifies
    verified = await asyncio.to_thread(_cli, env, "verify", "--json")
    assert verified.returncode == 0, verified.stdout
    assert json.loads(verified.stdout)["unsigned_events"] == 2

    proved = await asyncio.to_thread(_cli, env, "prove", ids[3], "--json")
    assert proved.returncode == 0, proved.stdout + proved.stderr
    proof = json.loads(proved.stdout)
    assert proof["leaf_index"] == 3 and proof["database_matches"]
    proof_file, pub = tmp_path / "proof.json", tmp_path / "data" / "checkpoints" / \
        "checkpoint-key.pub.pem"
    proof_file.write_text(proved.stdout)
    sth = head["file"]

    def check(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, str(VERIFIER), *args], capture_output=True,
                              text=True, timeout=60, env={"PATH": os.environ.get("PATH", "")})

    ok = await asyncio.to_thread(check, str(proof_file), str(pub), "--head", sth)
    assert ok.returncode == 0 and ok.stdout.startswith("OK: event " + ids[3]), ok.stderr
    proof["inclusion_path"][0] = "00" * 32
    proof_file.write_text(json.dumps(proof))
    bad = await asyncio.to_thread(check, str(proof_file), str(pub), "--head", sth)
    assert bad.returncode == 1 and "does not lead to the signed root" in bad.stdout
    proof = json.loads(proved.stdout)
    proof["event"]["stream_version"] = 9
    proof_file.write_text(json.dumps(proof))
    bad = await asyncio.to_thread(check, str(proof_file), str(pub))
    assert bad.returncode == 1 and "do not give the proof's leaf hash" in bad.stdout
    other = tmp_path / "other.pem"
    other.write_bytes(public_pem(Ed25519PrivateKey.generate().public_key()))
    bad = await asyncio.to_thread(check, str(proof_file), str(other))
    assert bad.returncode == 1 and "signature does not verify" in bad.stdout

    unknown = await asyncio.to_thread(_cli, env, "prove", "not-a-uuid", "--json")
    assert unknown.returncode == 2 and "EVENT_ID" in json.loads(unknown.stdout)["error"]



async def test_the_cli_names_a_dropped_stream_and_refuses_to_prove_an_unsigned_event(
    store: EventStore, pool: asyncpg.Pool, db_dsn: str, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUEPROCESS_")}
    env.update(DUEPROCESS_DATABASE_URL=db_dsn, DUEPROCESS_DATA_DIR=str(tmp_path / "data"),
               PYTHONPATH=str(Path(dueprocess.__file__).parent.parent))
    await _append(store, "keep", 2)
    dropped = await _append(store, "gone", 2)
    assert (await asyncio.to_thread(_cli, env, "checkpoint")).returncode == 0
    later = await _append(store, "keep", 1)
    unsigned = await asyncio.to_thread(_cli, env, "prove", later[0], "--json")
    assert unsigned.returncode == 1
    assert "not covered by the latest signed head" in json.loads(unsigned.stdout)["error"]

    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("ALTER TABLE events DISABLE TRIGGER USER")
        await conn.execute("DELETE FROM events WHERE stream_id = 'gone'")
        await conn.execute("DELETE FROM streams WHERE stream_id = 'gone'")
        await conn.execute("ALTER TABLE events ENABLE TRIGGER USER")
    verified = await asyncio.to_thread(_cli, env, "verify", "--json")
    assert verified.returncode == 1
    report = json.loads(verified.stdout)
    assert report["first_difference"] == 2
    assert [(p["kind"], p["position"], p["event_id"]) for p in report["problems"]] == [
        ("removed", 2, dropped[0]), ("removed", 3, dropped[1])]
    text = await asyncio.to_thread(_cli, env, "verify")
    assert "differs from the signed heads from position 2" in text.stdout
    assert f"removed   position 2 event {dropped[0]}: signed at position 2" in text.stdout
