"""Signed checkpoints of the whole event log, kept outside the database (RFC 9162 style).

The log is the store's gapless global order (tx_id, global_position) of committed events.
Each event is one Merkle leaf (``event_leaf``); a checkpoint is a signed tree head (tree
size, root hash, time) signed with an Ed25519 key that lives in a file, never in the
database, and written as one JSON file per head to a directory an operator ships
elsewhere. Beside the head each file carries what the next writer and ``verify`` need:
the consistency proof from the previous head, the new leaves (event id and leaf hash, to
name the earliest differing event exactly), and the frontier (to extend the tree without
re-reading the log). Only the head is signed; everything else is checked against it.
"""

from __future__ import annotations

import asyncio
import base64
import fcntl
import logging
import os
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from uuid import UUID

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import ValidationError

from . import merkle
from .checkpoint_format import (
    HEAD_PREFIX,
    LEAF_PREFIX,
    Checkpoint,
    CheckpointError,
    Hash,
    TreeHead,
    event_leaf,
    key_id,
    leaf_input,
    public_pem,
)
from .db import Connection, Database

# Re-exported: callers import the format with the writer from here.
__all__ = ["HEAD_PREFIX", "LEAF_PREFIX", "PUBLIC_KEY_FILE", "Checkpoint", "CheckpointBusy",
           "CheckpointDir", "CheckpointError", "Hash", "TreeHead", "event_leaf", "key_id",
           "leaf_input", "load_key", "log_rows", "public_pem", "run_checkpoints",
           "write_checkpoint"]

log = logging.getLogger("dueprocess.checkpoints")
PUBLIC_KEY_FILE = "checkpoint-key.pub.pem"
_FILE = "sth-{:015d}.json"


class CheckpointBusy(CheckpointError):
    """Another process is writing a head to the same directory right now."""


def load_key(path: Path, *, create: bool) -> Ed25519PrivateKey:
    """The signing key (PKCS#8 PEM). With ``create``, a missing file is generated, 0600."""
    if create and not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption())
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first: use theirs
            pass
        else:
            with os.fdopen(fd, "wb") as f:
                f.write(pem)
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no checkpoint key (DUEPROCESS_CHECKPOINT_KEY)") from None
    except ValueError as err:
        raise CheckpointError(f"{path}: not a PEM private key ({err})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise CheckpointError(f"{path}: not an Ed25519 key")
    return key


class CheckpointDir:
    """The directory of signed heads, one file per head, named by tree size."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def files(self) -> list[Path]:
        return sorted(self.path.glob("sth-*.json")) if self.path.is_dir() else []

    @staticmethod
    def read(path: Path) -> Checkpoint:
        try:
            return Checkpoint.model_validate_json(path.read_bytes())
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(x) for x in first["loc"])
            raise CheckpointError(f"{path.name}: not a checkpoint ({where}: {first['msg']})") \
                from None

    def heads(self) -> Iterator[tuple[Path, Checkpoint]]:
        for path in self.files():
            yield path, self.read(path)

    def latest(self) -> Checkpoint | None:
        files = self.files()
        return self.read(files[-1]) if files else None

    @contextmanager
    def locked(self) -> Iterator[None]:
        """One writer at a time per directory. Never waits (the caller runs on an event
        loop): a busy directory raises CheckpointBusy, and the other writer's head serves."""
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        with open(self.path / ".lock", "a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise CheckpointBusy(f"{self.path}: another writer is signing a head") from None
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def write(self, checkpoint: Checkpoint, public: Ed25519PublicKey) -> Path:
        target = self.path / _FILE.format(checkpoint.head.tree_size)
        tmp = target.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(checkpoint.model_dump_json(indent=1))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
        pub = self.path / PUBLIC_KEY_FILE
        if not pub.exists():
            pub.write_bytes(public_pem(public))
        return target


async def log_rows(
    conn: Connection, after: tuple[str, int] = ("0", 0), *, settled_only: bool = False
) -> AsyncIterator[tuple[str, int, str, int, UUID, bytes]]:
    """(tx_id, global_position, stream_id, version, event id, leaf) in global order.

    ``settled_only``: only rows of transactions older than every running one, so no row
    can later appear before them (what a signed prefix needs). Must run in a transaction.
    Leaves are hashed here from the raw bytes, not by the database, which is not trusted.
    """
    settled = "AND tx_id < pg_snapshot_xmin(pg_current_snapshot())" if settled_only else ""
    async for row in conn.cursor(
        f"""SELECT tx_id::text AS tx, global_position, stream_id, stream_version, event_id,
                   event_type, data, hash
              FROM events WHERE (tx_id, global_position) > ($1::text::xid8, $2) {settled}
             ORDER BY tx_id, global_position""",
        after[0], after[1], prefetch=2000,
    ):
        event_id = UUID(bytes=row["event_id"].bytes)
        yield (row["tx"], row["global_position"], row["stream_id"], row["stream_version"],
               event_id, event_leaf(row["stream_id"], row["stream_version"], event_id,
                                    row["event_type"], bytes(row["data"]), bytes(row["hash"])))


async def write_checkpoint(
    conn: Connection, directory: CheckpointDir, key: Ed25519PrivateKey, *,
    now_ms: int | None = None,
) -> tuple[Path, Checkpoint] | None:
    """Sign a head over every settled event; None when nothing was appended since the
    latest head. Extends the latest head's frontier (after checking it against its
    signature), so the cost is the new events only."""
    public = key.public_key()
    with directory.locked():
        files = directory.files()
        previous = directory.read(files[-1]) if files else None
        if previous is not None:
            try:
                previous.check(public)
            except CheckpointError as err:
                raise CheckpointError(f"{files[-1].name}: {err}; not extending it") from None
            frontier = merkle.Frontier(previous.head.tree_size,
                                       [bytes.fromhex(h) for h in previous.frontier])
            cursor = previous.cursor
        else:
            frontier, cursor = merkle.Frontier(), ("0", 0)
        old_size, old_nodes = frontier.size, dict(zip(frontier.ranges(), frontier.nodes,
                                                      strict=True))
        new: list[tuple[str, bytes]] = []
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            async for tx, position, _, _, event_id, leaf in log_rows(conn, cursor,
                                                                     settled_only=True):
                new.append((str(event_id), leaf))
                frontier.append(leaf)
                cursor = (tx, position)
        if not new:
            return None
        head = TreeHead(tree_size=frontier.size, root_hash=frontier.root().hex(),
                        timestamp=now_ms if now_ms is not None else int(time.time() * 1000))
        proof: list[str] = []
        if old_size:
            ranges = merkle.consistency_ranges(old_size, frontier.size)
            fresh = merkle.range_roots(
                (leaf for _, leaf in new),
                [(lo - old_size, hi - old_size) for lo, hi in ranges if lo >= old_size])
            proof = [(old_nodes[(lo, hi)] if hi <= old_size
                      else fresh[(lo - old_size, hi - old_size)]).hex() for lo, hi in ranges]
        checkpoint = Checkpoint(
            head=head, signature=base64.b64encode(key.sign(head.message())).decode(),
            key_id=key_id(public), previous_size=old_size, consistency=proof,
            leaves=[(event_id, leaf.hex()) for event_id, leaf in new],
            frontier=[n.hex() for n in frontier.nodes], cursor=cursor,
        )
        return directory.write(checkpoint, public), checkpoint


async def run_checkpoints(
    pool: Database, directory: CheckpointDir, key: Ed25519PrivateKey, interval: float,
    stop: asyncio.Event,
) -> None:
    """Sign a head now and every ``interval`` seconds until ``stop``; a failure is logged
    and retried next time, never silent and never fatal to the worker."""
    while True:
        try:
            async with pool.acquire() as conn:
                written = await write_checkpoint(conn, directory, key)
            if written is not None:
                log.info("signed tree head of size %d: %s", written[1].head.tree_size,
                         written[0])
        except CheckpointBusy:
            pass
        except Exception:
            log.exception("could not write a checkpoint to %s; retrying in %.0f s",
                          directory.path, interval)
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval)
            return
        except TimeoutError:
            pass
