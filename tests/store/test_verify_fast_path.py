"""Verify's fast check of a stream never passes what the full judgement would flag: for an
intact stream both find nothing, and for any tampered copy either the fast check declines
(the full judgement then names the damage) or the full judgement finds nothing either."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import orjson
import pytest
from dueprocess.store.chain import StreamCheck, VerifyReport
from dueprocess.store.documents import envelope_bytes
from dueprocess.store.intact import damaged
from fixtures.events import ev
from hypothesis import given, settings
from hypothesis import strategies as st

NAMES = ("stream_id", "stream_version", "tx", "global_position", "event_id", "event_type",
         "data", "hash")


class Row(tuple[Any, ...]):
    """A stored row as verify reads it: by position and by column name, like a Record."""

    def __getitem__(self, key: Any) -> Any:
        return super().__getitem__(NAMES.index(key) if isinstance(key, str) else key)


def stream(n: int, stream_id: str = "case-a",
           layout: bool = False) -> tuple[list[Row], tuple[int, bytes]]:
    """Given a stream of ``n`` events chained as the append chains them, and its head: with
    ``layout``, the append's own bytes (``envelope_bytes``, read by ``states``); without,
    a shorter JSON object (another layout: the checks parse it)."""
    rows, link = [], b""
    for version in range(1, n + 1):
        event_id = str(uuid.UUID(int=version))
        data = envelope_bytes(stream_id, version, ev(event_id=uuid.UUID(event_id),
                                                     payload={"n": version}),
                              {"n": version}) if layout else orjson.dumps(
            {"event_id": event_id, "event_type": "Noted", "payload": {"n": version},
             "stream_id": stream_id, "stream_version": version})
        link = hashlib.sha256(link + data).digest()
        rows.append(Row((stream_id, version, 100 + version, version, event_id, "Noted",
                         data, link)))
    return rows, (n, link)


def judged(rows: list[Row], head: tuple[int, bytes] | None) -> VerifyReport:
    report = VerifyReport()
    check = StreamCheck("case-a", report, head)
    for row in rows:
        check.add(row)  # type: ignore[arg-type]  # a Record's interface
    check.finish()
    return report


@pytest.mark.parametrize("layout", [True, False])
def test_an_intact_stream_passes_both(layout: bool) -> None:
    rows, head = stream(5, layout=layout)
    assert damaged(rows, {"case-a": head}) == (1, [])
    assert judged(rows, head).ok


COLUMN = st.sampled_from(range(1, len(NAMES)))


def _mutate(rows: list[Row], head: tuple[int, bytes], draw: Any) -> tuple[list[Row], Any]:
    kind = draw(st.sampled_from(["column", "swap", "drop", "head", "duplicate", "json"]))
    rows = list(rows)
    i = draw(st.integers(0, len(rows) - 1))
    if kind == "column":
        column = draw(COLUMN)
        values = list(rows[i])
        same = [values[column], rows[0][column], rows[-1][column]]
        if NAMES[column] == "tx":  # a transaction id as verify reads it (an int8)
            values[column] = draw(st.integers(0, 200))
        elif isinstance(values[column], int):
            values[column] = draw(st.sampled_from([*same, 0, values[column] + 1, True]))
        else:
            values[column] = draw(st.sampled_from([*same, "x", b"", str(uuid.uuid4())]))
        rows[i] = Row(values)
    elif kind == "swap":
        j = draw(st.integers(0, len(rows) - 1))
        rows[i], rows[j] = rows[j], rows[i]
    elif kind == "drop" and len(rows) > 1:
        del rows[i]
    elif kind == "duplicate":
        rows.insert(i, rows[i])
    elif kind == "json" and rows[i]["data"][:1] == b"{":  # not bytes a mutation replaced
        doc = orjson.loads(rows[i]["data"])
        doc[draw(st.sampled_from(["stream_id", "stream_version", "event_id", "event_type"]))] \
            = draw(st.sampled_from([None, 1, 1.0, True, "case-b", "Other"]))
        values = list(rows[i])
        values[6] = orjson.dumps(doc)
        rows[i] = Row(values)
    else:
        return rows, draw(st.sampled_from([None, (head[0] + 1, head[1]), (head[0], b"x" * 32),
                                           (head[0] - 1, head[1])]))
    return rows, head


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 6), st.booleans(), st.data())
def test_the_fast_check_never_passes_what_the_full_judgement_flags(
    n: int, layout: bool, data: st.DataObject
) -> None:
    rows, head = stream(n, layout=layout)
    for _ in range(data.draw(st.integers(1, 3))):
        rows, head = _mutate(rows, head, data.draw)
        if head is None:
            break
    if not damaged(rows, {} if head is None else {"case-a": head})[1]:
        assert judged(rows, head).ok


def _runs(rows: list[Row]) -> list[list[Row]]:
    """Rows split where the stream id changes, as verify hands streams to StreamCheck."""
    runs: list[list[Row]] = []
    for row in rows:
        if runs and runs[-1][0]["stream_id"] == row["stream_id"]:
            runs[-1].append(row)
        else:
            runs.append([row])
    return runs


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=2, max_size=4), st.data())
def test_the_fast_check_of_many_streams_at_once_passes_only_intact_ones(
    sizes: list[int], data: st.DataObject
) -> None:
    """Given several whole streams checked in one run (as verify checks a chunk of a page),
    tampered across their boundaries (a row moved to a neighbour, a first or last row lost,
    a head changed): a stream the fast check passes is one the full judgement passes too,
    and streams are counted as verify counts them."""
    names = [f"case-{chr(97 + k)}" for k in range(len(sizes))]
    layout = data.draw(st.booleans())
    built = [stream(n, name, layout) for n, name in zip(sizes, names, strict=True)]
    rows = [row for stream_rows, _ in built for row in stream_rows]
    heads = {name: head for name, (_, head) in zip(names, built, strict=True)}
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(rows) - 1))
        kind = data.draw(st.sampled_from(["swap", "drop", "restream", "head"]))
        if kind == "swap":
            j = data.draw(st.integers(0, len(rows) - 1))
            rows[i], rows[j] = rows[j], rows[i]
        elif kind == "drop" and len(rows) > 1:
            del rows[i]
        elif kind == "restream":  # the row's column says another stream, its bytes do not
            values = list(rows[i])
            values[0] = data.draw(st.sampled_from(names))
            rows[i] = Row(values)
        else:
            name = data.draw(st.sampled_from(names))
            heads[name] = data.draw(st.sampled_from([(heads[name][0] + 1, heads[name][1]),
                                                     (heads[name][0], b"x" * 32)]))
    runs = _runs(rows)
    count, bad = damaged(rows, heads)
    assert count == len(runs)
    flagged = {begin for begin, _ in bad}
    begin = 0
    for run in runs:
        if begin not in flagged:
            report = VerifyReport()
            check = StreamCheck(run[0]["stream_id"], report, heads.get(run[0]["stream_id"]))
            for row in run:
                check.add(row)  # type: ignore[arg-type]  # a Record's interface
            check.finish()
            assert report.ok, report.problems
        begin += len(run)
    assert [end for _, end in bad] == [b + len(r) for b, r in zip(
        [sum(map(len, runs[:k])) for k in range(len(runs))], runs, strict=True)
        if b in flagged]
