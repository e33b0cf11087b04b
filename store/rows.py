"""Stored rows of the events table as the reader meets them: parsed, their key ids found,
and any row that cannot be read turned into one typed error naming the stream, version and
event id (odd stored data is a finding, never a traceback)."""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson

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
