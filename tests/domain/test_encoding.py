from __future__ import annotations

import json
from typing import Any

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
