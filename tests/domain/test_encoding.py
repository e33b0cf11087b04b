from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from dueprocess.domain.encoding import Upcasters, canonical_json
from hypothesis import given
from hypothesis import strategies as st

_scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text()
_json = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(st.text(), inner, max_size=4), max_leaves=20)


def _stdlib(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


@given(_json)
def test_canonical_bytes_equal_the_standard_librarys(value: Any) -> None:
    assert canonical_json(value) == _stdlib(value)


def test_shapes_orjson_refuses_fall_back_instead_of_failing() -> None:
    assert canonical_json({"n": 2**70}) == _stdlib({"n": 2**70})
    assert canonical_json({1: "a"}) == b'{"1":"a"}'


def test_upcasters_chain_and_refuse_duplicates() -> None:
    up = Upcasters()
    up.register("E", 1)(lambda p: {**p, "b": 1})
    up.register("E", 2)(lambda p: {**p, "c": 2})
    assert up.upcast("E", 1, {"a": 0}) == (3, {"a": 0, "b": 1, "c": 2})
    assert up.upcast("Other", 1, {"a": 0}) == (1, {"a": 0})
    try:
        up.register("E", 1)(lambda p: p)
    except ValueError as err:
        assert "already registered" in str(err)
    else:
        raise AssertionError("duplicate upcaster accepted")


@given(st.datetimes(timezones=st.just(UTC)), st.uuids())
def test_uuids_and_utc_times_are_written_as_their_text_forms(when: datetime, uid: UUID) -> None:
    # Stored envelopes hold UUID and datetime objects; events written before held
    # str(uuid) and isoformat() strings. Both must give the same bytes.
    doc = {"event_id": uid, "recorded_at": when}
    assert canonical_json(doc) == canonical_json(
        {"event_id": str(uid), "recorded_at": when.isoformat()})
    assert canonical_json({**doc, "n": 2**70}) == canonical_json(
        {"event_id": str(uid), "recorded_at": when.isoformat(), "n": 2**70})
