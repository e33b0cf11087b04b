"""Stored rows of the events table as the reader meets them: parsed, their key ids found,
decoded (personal values opened, old shapes upcast) into recorded events, and any row that
cannot be read turned into one typed error naming the stream, version and event id (odd
stored data is a finding, never a traceback)."""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson

from ..domain.encoding import Upcasters
from ..domain.envelope import RecordedEvent
from . import crypto
from .errors import UnreadableEvent, reason


def unreadable(row: asyncpg.Record, doc: Any, err: BaseException) -> UnreadableEvent:
    event_id = doc.get("event_id") if isinstance(doc, dict) else None
    return UnreadableEvent(reason(err), stream_id=row["stream_id"],
                           stream_version=row["stream_version"],
                           event_id=str(event_id) if event_id else None)


def parsed(row: asyncpg.Record) -> dict[str, Any]:
    try:
        doc = orjson.loads(row["data"])
    except orjson.JSONDecodeError as err:
        raise unreadable(row, None, err) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("payload"), dict):
        raise unreadable(row, doc, ValueError("not an event envelope with a payload"))
    return doc


def personal(row: asyncpg.Record, doc: dict[str, Any]) -> crypto.Found:
    """The personal values of a parsed row's payload (``crypto.personal_nodes``)."""
    data = row["data"]
    if b'"pii"' not in data and b"\\u" not in data:
        # No key "pii" anywhere in the bytes (nor any escape that could spell one): no
        # personal value, and no walk. Most events (decisions, notices) carry none.
        return []
    try:
        found = crypto.personal_nodes(doc["payload"])
        for _, node in found:
            hash(node.get("key_id"))  # a key id that cannot be looked up is odd data
    except Exception as err:
        raise unreadable(row, doc, err) from err
    return found


def recorded(
    parsed: list[tuple[asyncpg.Record, dict[str, Any]]], found: list[crypto.Found],
    keys: dict[int, bytes | None], upcasters: Upcasters,
) -> list[RecordedEvent]:
    """Parsed rows as recorded events: personal values (``found``) opened with ``keys``
    (each key's cipher set up once for them all), old shapes upcast."""
    ciphers: crypto.Ciphers = {}
    decoded = []
    for (row, doc), nodes in zip(parsed, found, strict=True):
        try:
            decoded.append(_event(row, doc, nodes, keys, ciphers, upcasters))
        except crypto.KeyUnavailable:  # a key this process was not given: configuration
            raise
        except Exception as err:
            raise unreadable(row, doc, err) from err
    return decoded


def _event(
    row: asyncpg.Record, doc: dict[str, Any], found: crypto.Found,
    keys: dict[int, bytes | None], ciphers: crypto.Ciphers, upcasters: Upcasters,
) -> RecordedEvent:
    payload = crypto.unseal_found(doc["payload"], found, doc["event_id"], keys, ciphers) \
        if found else doc["payload"]  # parsed for this event alone: nothing to copy
    version, payload = upcasters.upcast(doc["event_type"], doc["schema_version"], payload)
    return RecordedEvent(
        event_id=doc["event_id"],
        event_type=doc["event_type"],
        schema_version=version,
        payload=payload,
        actor=doc["actor"],
        authority=doc["authority"],
        recorded_at=doc["recorded_at"],
        effective_at=doc["effective_at"],
        correlation_id=doc["correlation_id"],
        causation_id=doc["causation_id"],
        workflow_id=doc["workflow_id"],
        run_id=doc["run_id"],
        principal=doc.get("principal"),  # absent before principals were recorded
        imported=doc.get("imported"),  # absent: recorded here ("not asserted")
        stream_id=row["stream_id"],
        stream_version=row["stream_version"],
        position={"tx_id": int(row["tx"]), "global_position": row["global_position"]},
        hash=bytes(row["hash"]).hex(),
    )
