"""Verify's fast check of a stream never passes what the full judgement would flag: for an
intact stream both find nothing, and for any tampered copy either the fast check declines
(the full judgement then names the damage) or the full judgement finds nothing either."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import orjson
from dueprocess.store.chain import StreamCheck, VerifyReport
from dueprocess.store.verify import _intact
from hypothesis import given, settings
from hypothesis import strategies as st

NAMES = ("stream_id", "stream_version", "tx", "global_position", "event_id", "event_type",
         "data", "hash")


class Row(tuple[Any, ...]):
    """A stored row as verify reads it: by position and by column name, like a Record."""

    def __getitem__(self, key: Any) -> Any:
        return super().__getitem__(NAMES.index(key) if isinstance(key, str) else key)


def stream(n: int, stream_id: str = "case-a") -> tuple[list[Row], tuple[int, bytes]]:
    """Given a stream of ``n`` events stored as the append stores them, and its head."""
    rows, link = [], b""
    for version in range(1, n + 1):
        event_id = str(uuid.UUID(int=version))
        data = orjson.dumps({"event_id": event_id, "event_type": "Noted", "payload": {"n": version},
                             "stream_id": stream_id, "stream_version": version})
        link = hashlib.sha256(link + data).digest()
        rows.append(Row((stream_id, version, str(100 + version), version, event_id, "Noted",
                         data, link)))
    return rows, (n, link)


def judged(rows: list[Row], head: tuple[int, bytes] | None) -> VerifyReport:
    report = VerifyReport()
    check = StreamCheck("case-a", report, head)
    for row in rows:
        check.add(row)  # type: ignore[arg-type]  # a Record's interface
    check.finish()
    return report


def test_an_intact_stream_passes_both() -> None:
    rows, head = stream(5)
    assert _intact("case-a", rows, head)  # type: ignore[arg-type]
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
        if NAMES[column] == "tx":  # the database's text form of a transaction id
            values[column] = str(draw(st.integers(0, 200)))
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
    elif kind == "json":
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
@given(st.integers(1, 6), st.data())
def test_the_fast_check_never_passes_what_the_full_judgement_flags(
    n: int, data: st.DataObject
) -> None:
    rows, head = stream(n)
    for _ in range(data.draw(st.integers(1, 3))):
        rows, head = _mutate(rows, head, data.draw)
        if head is None:
            break
    if _intact("case-a", rows, head):  # type: ignore[arg-type]
        assert judged(rows, head).ok
