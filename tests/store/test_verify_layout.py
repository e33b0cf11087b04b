"""Verify reads what a row's bytes state (stream, version, event id and type) from the
append's own layout without parsing them (``store.intact.states``): for every envelope the
append writes, that reading agrees with the parsed document; the fast check and the full
judgement read alike, so the fast check never passes what the full judgement flags, even
for a stream a database writer re-chained (which the signed heads name: test_tamper)."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import orjson
from dueprocess.domain.envelope import ImportRecord, PrincipalRecord
from dueprocess.store.documents import envelope_bytes
from dueprocess.store.intact import damaged, states, stream_key
from fixtures.events import OFFICER, ev
from hypothesis import given, settings
from hypothesis import strategies as st

from .test_verify_fast_path import Row, judged, stream

TEXT = st.text(max_size=12)
# Payloads that name the envelope's keys themselves, as keys and inside strings.
TRICKY = st.sampled_from(['"event_id":"x"', '"stream_id":"case-a","stream_version":1,',
                          "event_id", "stream_id", '\\"', "é\u2028"])
VALUE = st.recursive(st.none() | st.integers() | TEXT | TRICKY,
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
                         st.sampled_from(["event_id", "event_type", "stream_id",
                                          "stream_version", "n"]) | TEXT, inner, max_size=3),
                     max_leaves=8)


def _stated(doc: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(doc.get(k) for k in ("stream_id", "stream_version", "event_id", "event_type"))


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1, max_size=12) | TRICKY, st.integers(1, 10**6),
       st.text(min_size=1, max_size=12) | TRICKY, st.dictionaries(TEXT | TRICKY, VALUE),
       st.one_of(st.none(), TEXT | TRICKY), st.booleans(), st.data())
def test_the_appends_bytes_state_exactly_what_their_parsed_document_states(
    stream_id: str, version: int, event_type: str, payload: dict[str, Any],
    workflow_id: str | None, recorded: bool, data: st.DataObject,
) -> None:
    """Given the bytes the append writes for any envelope (payloads naming the same keys,
    strings holding their text, a principal and an import record or none), when they are
    read for any columns (the true ones, or values found elsewhere in them), then
    ``states`` holds exactly when the parsed document states those columns."""
    tricky = data.draw(TRICKY)
    event = ev(event_type, payload, workflow_id=workflow_id, **({
        "principal": PrincipalRecord(issuer=tricky, subject=stream_id, request_id=tricky),
        "imported": ImportRecord(source=tricky, import_id=event_type, record=tricky,
                                 importer=OFFICER),
    } if recorded else {}))
    stored = envelope_bytes(stream_id, version, event, payload)
    doc = orjson.loads(stored)
    nested = [v for v in payload.values() if isinstance(v, str)] or ["x"]
    columns = (data.draw(st.sampled_from([stream_id, "case-a", *nested])),
               data.draw(st.sampled_from([version, version + 1, 1])),
               data.draw(st.sampled_from([str(event.event_id), *nested])),
               data.draw(st.sampled_from([event_type, "Noted", *nested])))
    assert states(stored, stream_key(columns[0]), *columns[1:]) == (_stated(doc) == columns)


def test_the_appends_bytes_are_read_without_parsing_them() -> None:
    """Given a stream in the append's layout re-chained by a database writer over bytes
    that are not JSON past the stated keys (the chain and head hold), then neither check
    flags it: both read the same stated values, and only the signed heads can tell a
    re-chain (as they always had to: a re-chain of valid JSON passed the chain check)."""
    rows, _ = stream(3, layout=True)
    link, chained = b"", []
    for row in rows:
        data = row[6].replace(b'"payload":{', b'"payload":{\xff not JSON')
        link = hashlib.sha256(link + data).digest()
        chained.append(Row((*row[:6], data, link)))
    with_bytes_not_json = [r for r in chained if r[6][:1] == b"{"]
    assert len(with_bytes_not_json) == 3
    assert damaged(chained, {"case-a": (3, link)}) == (1, [])
    assert judged(chained, (3, link)).ok


def test_a_changed_column_of_a_row_in_the_layout_is_flagged_by_both() -> None:
    rows, head = stream(3, layout=True)
    rows[1] = Row((*rows[1][:5], "Other", *rows[1][6:]))
    assert damaged(rows, {"case-a": head}) == (1, [(0, 3)])
    assert [(p.stream_version, p.detail) for p in judged(rows, head).problems] == [
        (2, "column event_type differs from stored bytes")]


def _rewritten(data: bytes, draw: Any) -> bytes:
    """What a database writer may put in a row's place (to be re-chained after)."""
    kind = draw(st.sampled_from(["garbage", "cut", "doubled", "moved", "typed"]))
    if kind == "garbage":
        at: int = draw(st.integers(0, len(data)))
        piece: bytes = draw(st.sampled_from([b"\xff", b"}", b'"', b"{", b","]))
        return data[:at] + piece + data[at:]
    if kind == "cut":
        return data[:int(draw(st.integers(0, len(data))))]
    if kind == "doubled":  # a second "event_id" (orjson keeps the last) or "stream_id"
        key: bytes = draw(st.sampled_from([b'"event_id":', b'"stream_id":']))
        return data[:-1] + b"," + key + b'"' + str(uuid.uuid4()).encode() + b'"}'
    try:
        doc = orjson.loads(data)
        version = doc["stream_version"] + 0
    except (orjson.JSONDecodeError, TypeError, KeyError):  # rewritten already
        return data[:-1]
    if kind == "moved":
        doc["stream_version"] = version + draw(st.sampled_from([-1, 1]))
    else:
        doc["stream_version"] = draw(st.sampled_from([1.0, True, "1", None]))
    return orjson.dumps(doc)


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 5), st.data())
def test_a_rechained_stream_is_passed_by_the_fast_check_only_if_the_judgement_passes_it(
    n: int, data: st.DataObject
) -> None:
    """Given a stream in the append's layout whose rows a database writer rewrote and
    re-chained (hashes and head recomputed), then whenever the fast check passes it the
    full judgement finds nothing either."""
    rows, _ = stream(n, layout=True)
    for _ in range(data.draw(st.integers(1, 2))):
        i = data.draw(st.integers(0, n - 1))
        rows[i] = Row((*rows[i][:6], _rewritten(rows[i][6], data.draw), rows[i][7]))
    link, chained = b"", []
    for row in rows:
        link = hashlib.sha256(link + row[6]).digest()
        chained.append(Row((*row[:7], link)))
    if not damaged(chained, {"case-a": (n, link)})[1]:
        assert judged(chained, (n, link)).ok
