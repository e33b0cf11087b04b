"""Verify's fast check: which of a run of whole streams are not intact, in one loop over
their rows (``chain.StreamCheck`` then names what is wrong with those).

What a row's bytes must state (its stream, version, event id and type) is read from the
bytes in the append's own layout (``states``), without parsing them; only a row in another
layout is parsed. Why that keeps verify's guarantee: the chain covers the bytes, so while it
holds they are the bytes the append wrote: ``store.documents.envelope_document`` as JSON,
keys sorted, each once. There a key can only occur as a key (inside a JSON string every
``"`` is escaped, so ``"event_id":`` cannot be text), and the first ``"event_id":`` is the
envelope's own (the keys before it are actor, whose object holds only id, kind and role,
authority, causation_id, correlation_id and effective_at), as is the last ``"stream_id":``
(after it come only stream_version and workflow_id, a string or null). So for the append's
bytes, ``states`` holds exactly when the parsed object states the columns (a hypothesis test
holds it to that, payloads naming the same keys included). Bytes that do not chain are
flagged by the chain whatever they hold. What ``states`` no longer sees is only bytes a
database writer re-chained that are not JSON: the chain check has never judged re-chains (a
re-chain of valid JSON with other values always passed it); the check against signed heads
(``witness``) names every re-chain of the signed log, and a reader meets bytes that are not
JSON as an ``UnreadableEvent``. ``StreamCheck`` reads each row through ``states`` first
too, so both checks keep one definition of intact (tests/store/test_verify_layout.py holds
them to it, re-chains included).

Measured (issue 14, a log of 100,209 real events of ~1 KB, CPU of the client, A/B in one
process): this loop 4.5-4.6 µs per row parsing every row, 2.5-2.6 with ``states``
(orjson.loads and freeing its dict ~2.9; ``states`` ~1.0 in place, of which ~0.1 per C
call: two searches, two slice compares, two bytes built); ``verify_store`` 9.5 -> 6.6 µs
per event (with the int8 tx of ``verify._CHAIN_COLUMNS``; median of 5 interleaved rounds,
load 3.5). In bench/whole_log.py at load 7-8: 8.0 µs of client CPU per event (12.9 before,
load 7-11), 0.59x the raw scan's CPU per event (0.37x before).

Tried and left out, with the reason:

- SHA-256 in PostgreSQL (``sha256(bytea)``, so the backend hashes on the other core): the
  embedded build has no OpenSSL, and its own SHA-256 cost 8.6 µs of backend CPU per row
  against 1.2 µs in hashlib; the window for the predecessor's hash ~3 µs more.
- ``states`` requiring each key to occur once instead of reading the first and last: 1.0-1.6
  µs per row more; CPython's byte search walks JSON nearly byte by byte for these needles.
- JSON checked in SQL: it follows other rules than orjson (big numbers, lone surrogates,
  bad UTF-8 raising an error), and costs the backend what it saves here.
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
_EVENT_ID, _STREAM_ID = b'"event_id":', b'"stream_id":'
_TYPES: dict[str, bytes] = {}  # event type -> its JSON text: few types, ~0.1 µs a dumps


def stream_key(stream_id: str) -> bytes:
    """What the append writes before a version of ``stream_id`` (see ``states``)."""
    try:
        return _STREAM_ID + orjson.dumps(stream_id) + b',"stream_version":'
    except TypeError:  # not a stream id the append writes: no bytes state it
        return b"\x00"


def states(data: bytes, key: bytes, version: int, event_id: str, event_type: str) -> bool:
    """Whether ``data``, in the layout ``store.documents`` writes, states this version
    (``key``: ``stream_key`` of the stream), event id and type: at the first
    ``"event_id":``, these id and type; at the last ``"stream_id":``, this stream and
    version (see the module's docstring). False for any other layout or type."""
    try:
        kind = _TYPES.get(event_type)
        if kind is None:
            kind = b',"event_type":' + orjson.dumps(event_type) + b","
            if len(_TYPES) < 1024:  # memory stays flat whatever a database writer put there
                _TYPES[event_type] = kind
        return (type(version) is int
                and data.startswith(b"%s%d," % (key, version), data.rfind(_STREAM_ID))
                and data.startswith(_EVENT_ID + orjson.dumps(event_id) + kind,
                                    data.find(_EVENT_ID)))
    except (AttributeError, TypeError):  # a column of another type
        return False


def damaged(rows: Sequence[Any], heads: Heads) -> tuple[int, list[tuple[int, int]]]:
    """How many streams ``rows`` hold, and the (begin, end) slice of each one that is not
    intact. ``rows``: whole streams in stream order, columns as ``verify._CHAIN_COLUMNS``
    (stream_id, stream_version, tx, global_position, event_id, event_type, data, hash).

    Intact: every condition under which ``chain.StreamCheck`` finds nothing, held strictly:
    versions 1..n in order; each row's bytes stating its stream, version (an int), id and
    type (``states``, or else parsed: a JSON object with those values); each hash SHA-256 of
    the one before (none at version 1) and the row's bytes; global order ascending; the head
    at the last event, with its hash. A stream that is not is judged by ``StreamCheck``,
    which names what is wrong; a column of an unexpected type makes its stream not intact,
    never an error."""
    out: list[tuple[int, int]] = []
    loads, sha256, stated, layout = orjson.loads, hashlib.sha256, _STATED, states
    stream, streams = (rows[0][0], 1) if rows else ("", 0)  # the first row's stream
    # () sorts before every (tx, global_position), whose tx is below zero (see verify).
    position: tuple[Any, ...] = ()
    begin, ok, version, link = 0, True, 0, b""
    key = stream_key(stream) if rows else b""
    # One loop over all the streams: no call, list or slice per stream (~7 events each).
    for i, (stream_id, row_version, tx, global_position, event_id, event_type, data,
            hash_) in enumerate(rows):
        if stream_id != stream:
            if not (ok and heads.get(stream) == (version, link)):
                out.append((begin, i))
            stream, begin, ok, version, link, position = stream_id, i, True, 0, b"", ()
            key = stream_key(stream)
            streams += 1
        elif not ok:
            continue
        version += 1
        try:
            now = (tx, global_position)
            if row_version != version or now <= position:
                ok = False
                continue
            if not layout(data, key, version, event_id, event_type):  # another layout
                doc = stated(loads(data))
                if doc != (stream_id, version, event_id, event_type) \
                        or type(doc[1]) is not int:  # not 1.0, not true
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
