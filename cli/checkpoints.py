"""`dueprocess verify`, `checkpoint` and `prove EVENT_ID`: tamper evidence from the CLI."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from typing import Any
from uuid import UUID

from ..settings import ConfigError, Settings
from ..store.checkpoints import (
    CheckpointBusy,
    CheckpointDir,
    CheckpointError,
    key_id,
    leaf_input,
    load_key,
    public_pem,
    write_checkpoint,
)
from ..store.merkle import leaf_hash, verify_inclusion
from ..store.verify import VerifyReport, verify_store
from ..store.witness import Witness
from .cases import connect_pool
from .common import EXTENSIONS, command, emit


def _fail(args: argparse.Namespace, message: str, code: int) -> int:
    if args.json:
        print(json.dumps({"error": message}))
    else:
        print(f"dueprocess: {message}", file=sys.stderr)
    return code


def _witness(settings: Settings) -> Witness | None:
    """The signed heads to check against; None when no key and no heads exist yet."""
    directory = CheckpointDir(settings.checkpoint_directory())
    path = settings.checkpoint_key_path()
    if not path.exists() and not directory.files():
        return None
    try:
        key = load_key(path, create=False)
    except CheckpointError as err:
        raise ConfigError(f"cannot check the signed heads in {directory.path}: {err}") from None
    return Witness(directory, key.public_key())


def _problem_line(p: Any) -> str:
    where = f"position {p.position} " if p.position is not None else ""
    if p.stream_id is not None:
        where += f"{p.stream_id} v{p.stream_version} "
    if p.event_id:
        where += f"event {p.event_id} "
    return f"  {p.kind:9} {where.rstrip()}: {p.detail}"


def _summary(report: VerifyReport, witness: Witness | None) -> list[str]:
    lines = [f"verified {report.events} events in {report.streams} streams: "
             + ("OK" if report.ok else f"{len(report.problems)} problem(s)")]
    if witness is None:
        lines.append("  no signed heads yet: only the hash chains were checked "
                     "(run `dueprocess checkpoint`)")
    else:
        lines.append(f"  {report.signed_heads} signed head(s) in {witness.directory.path}, "
                     f"latest covers {report.signed_size} events; {report.unsigned_events} "
                     "later event(s) only chain-checked")
    if report.first_difference is not None:
        lines.append(f"  the log differs from the signed heads from position "
                     f"{report.first_difference} on")
    return lines + [_problem_line(p) for p in report.problems]


@command("verify")
async def _verify(args: argparse.Namespace, settings: Settings) -> int:
    witness = _witness(settings)
    async with connect_pool(settings) as pool, pool.acquire() as conn:
        report = await verify_store(conn, witness)
    emit(args, {"ok": report.ok, **report.model_dump()}, "\n".join(_summary(report, witness)))
    return 0 if report.ok else 1


@command("checkpoint")
async def _checkpoint(args: argparse.Namespace, settings: Settings) -> int:
    try:
        key = load_key(settings.checkpoint_key_path(), create=settings.checkpoint_key is None)
    except CheckpointError as err:
        return _fail(args, str(err), 2)
    directory = CheckpointDir(settings.checkpoint_directory())
    async with connect_pool(settings) as pool, pool.acquire() as conn:
        for _ in range(50):  # a worker may be signing right now: wait for it, briefly
            try:
                written = await write_checkpoint(conn, directory, key)
                break
            except CheckpointBusy:
                await asyncio.sleep(0.1)
            except CheckpointError as err:
                return _fail(args, str(err), 1)
        else:
            return _fail(args, f"{directory.path}: another writer holds the lock", 1)
    latest = written[1] if written else directory.latest()
    document: dict[str, Any] = {
        "written": written is not None, "file": str(written[0]) if written else None,
        "head": latest.head.model_dump() if latest else None,
        "key_id": key_id(key.public_key()),
        "public_key": public_pem(key.public_key()).decode(),
    }
    if latest is None:
        text = "nothing to sign yet: the log is empty"
    else:
        text = (f"{'signed' if written else 'unchanged since the latest'} tree head: size "
                f"{latest.head.tree_size}, root {latest.head.root_hash}"
                + (f"\n  {written[0]}" if written else ""))
    emit(args, document, text)
    return 0


@command("prove")
async def _prove(args: argparse.Namespace, settings: Settings) -> int:
    try:
        event_id = UUID(args.event_id)
    except ValueError:
        return _fail(args, f"EVENT_ID: not a UUID (got {args.event_id!r})", 2)
    witness = _witness(settings)
    if witness is None:
        return _fail(args, "no signed heads yet: run `dueprocess checkpoint` first", 1)
    async with connect_pool(settings) as pool, pool.acquire() as conn:
        try:
            proof = await witness.prove(conn, event_id)
        except CheckpointError as err:
            return _fail(args, str(err), 1)
    head, event = proof["signed_head"], proof["event"]
    ok = verify_inclusion(bytes.fromhex(proof["leaf_hash"]), proof["leaf_index"],
                          head["tree_size"], [bytes.fromhex(h) for h in proof["inclusion_path"]],
                          bytes.fromhex(head["root_hash"]))
    matches = event is not None and _leaf_of(event) == proof["leaf_hash"]
    proof["database_matches"] = matches
    text = "\n".join([
        f"event {event_id} is leaf {proof['leaf_index']} of the signed tree of size "
        f"{head['tree_size']} (root {head['root_hash']}, signed at {head['timestamp']} ms)",
        f"  inclusion path: {len(proof['inclusion_path'])} hash(es); proof "
        + ("verifies" if ok else "DOES NOT verify"),
        "  the stored event " + ("matches the signed leaf" if matches else
                                 "DIFFERS from the signed leaf (run `dueprocess verify`)"),
        "  save it with --json and check it with deploy/verifier/verify_proof.py",
    ])
    emit(args, proof, text)
    return 0 if ok and matches else 1


def _leaf_of(event: dict[str, Any]) -> str:
    """The leaf the stored row gives now (the proof's summary carries digests, not bytes)."""
    return leaf_hash(leaf_input(
        event["stream_id"], event["stream_version"], UUID(event["event_id"]),
        event["event_type"], bytes.fromhex(event["data_sha256"]),
        bytes.fromhex(event["chain_hash"]))).hex()


def _parsers(sub: Any, add: Callable[[str, str], argparse.ArgumentParser]) -> None:
    add("verify", "re-check every stream's hash chain and the log against the signed heads; "
        "non-zero exit on any problem")
    add("checkpoint", "sign a tree head over the log now (the worker also does, every "
        "DUEPROCESS_CHECKPOINT_INTERVAL seconds)")
    prove = add("prove", "print an inclusion proof of an event against the latest signed head")
    prove.add_argument("event_id", metavar="EVENT_ID")


EXTENSIONS.append(_parsers)
