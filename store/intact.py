"""Verify's fast check: which of a run of whole streams are not intact, in one loop over
their rows (``chain.StreamCheck`` then names what is wrong with those).

Measured (issue 14, a log of 100,209 real events of ~1 KB, CPU per event of the client):
the per-row floor is orjson.loads (2.6-3.0 µs) plus SHA-256 (1.1-1.3 µs) plus asyncpg
decoding the row (~2.3 µs, what a raw scan pays too). Tried and left out, with the reason:

- SHA-256 in PostgreSQL (``sha256(bytea)``, so the backend hashes on the other core): the
  embedded build has no OpenSSL, and its own SHA-256 cost 8.6 µs of backend CPU per row
  against 1.2 µs in hashlib; the window for the predecessor's hash ~3 µs more.
- Comparing the copied columns with the stored bytes without decoding them (a byte search,
  or only when the chain holds): a database writer can re-chain a stream, so a holding
  chain says nothing about the bytes, and the full judgement flags bytes that are not JSON
  at all; so every byte goes through the parser that judgement uses. JSON checked in SQL
  would follow other rules (big numbers, lone surrogates, bad UTF-8 raising an error).
- The check as C-level passes over columns (``map``, ``zip``, list comparison): no
  faster (~1 µs per row more in place: each ~1 KB row is walked twice, out of cache).
"""

from __future__ import annotations

import hashlib
import operator
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

Heads = Mapping[str, tuple[int, bytes]]

# The stored bytes' copies of the columns: one C call instead of four dict.get.
_STATED = operator.itemgetter("stream_id", "stream_version", "event_id", "event_type")


def damaged(rows: Sequence[Any], heads: Heads) -> tuple[int, list[tuple[int, int]]]:
    """How many streams ``rows`` hold, and the (begin, end) slice of each one that is not
    intact. ``rows``: whole streams in stream order, columns as ``verify._CHAIN_COLUMNS``
    (stream_id, stream_version, tx, global_position, event_id, event_type, data, hash).

    Intact: every condition under which ``chain.StreamCheck`` finds nothing, held strictly:
    versions 1..n in order; each row's bytes a JSON object naming its stream, version (an
    int), id and type; each hash SHA-256 of the one before (none at version 1) and the
    row's bytes; global order ascending; the head at the last event, with its hash. A
    stream that is not is judged by ``StreamCheck``, which names what is wrong; a column of
    an unexpected type makes its stream not intact, never an error."""
    out: list[tuple[int, int]] = []
    loads, sha256, stated = orjson.loads, hashlib.sha256, _STATED
    stream, streams = (rows[0][0], 1) if rows else ("", 0)  # the first row's stream
    # () sorts before every (tx, global_position), whose tx is below zero (see verify).
    position: tuple[Any, ...] = ()
    begin, ok, version, link = 0, True, 0, b""
    # One loop over all the streams: no call, list or slice per stream (~7 events each).
    for i, (stream_id, row_version, tx, global_position, event_id, event_type, data,
            hash_) in enumerate(rows):
        if stream_id != stream:
            if not (ok and heads.get(stream) == (version, link)):
                out.append((begin, i))
            stream, begin, ok, version, link, position = stream_id, i, True, 0, b"", ()
            streams += 1
        elif not ok:
            continue
        version += 1
        try:
            doc = stated(loads(data))
            now = (tx, global_position)
            if row_version != version or doc != (stream_id, version, event_id, event_type) \
                    or type(doc[1]) is not int or now <= position:  # not 1.0, not true
                ok = False
                continue
            # sha256(link) then update: ~0.2 µs less than hashing link + data (no copy).
            digest = sha256(link)
            digest.update(data)
            link = digest.digest()
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            ok = False  # not JSON, not an object, a key missing, a column of another type
            continue
        if link != hash_:
            ok = False
        position = now
    if rows and not (ok and heads.get(stream) == (version, link)):
        out.append((begin, len(rows)))
    return streams, out
