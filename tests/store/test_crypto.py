"""Sealing personal values: compatible with what was stored before, and copy-on-write."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
from typing import Any

import orjson
import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from dueprocess.domain.encoding import canonical_json
from dueprocess.store import crypto
from hypothesis import given
from hypothesis import strategies as st


def _sealed_as_before(material: bytes, plain: bytes, aad: bytes) -> bytes:
    """The construction the store used up to 0005 (hmac.digest, a fresh AESGCM per value):
    values sealed then must stay byte-identical so a retried append is still recognised."""
    nonce = hmac.new(material, b"nonce|" + aad + b"|" + plain, hashlib.sha256).digest()[:12]
    return nonce + AESGCM(material).encrypt(nonce, plain, aad)


@given(plain=st.binary(max_size=300), aad=st.binary(max_size=120))
def test_subject_key_seals_version_1_exactly_as_the_plain_hmac_construction(
    plain: bytes, aad: bytes
) -> None:
    material = bytes(range(32))
    assert crypto.SubjectKey(7, material).seal_v1(plain, aad) == _sealed_as_before(
        material, plain, aad)


def test_a_key_other_than_256_bits_is_refused() -> None:
    try:
        crypto.SubjectKey(1, b"k" * 65)
    except ValueError as err:
        assert "key material" in str(err)
    else:
        raise AssertionError("a 65-byte key was accepted")


def _pii(subject: str, value: str) -> dict[str, Any]:
    return {"pii": True, "subject_id": subject, "value": value}


PAYLOAD: dict[str, Any] = {
    "who": _pii("p-1", "Ada"),
    "rule": "R2",
    "witnesses": [{"name": _pii("p-2", "Bob")}, "n/a", [_pii("p-1", "Ada again")]],
    "nested": {"deeper": {"contact": _pii("p-3", "ada@example.org")}},
    "erased": {"pii": True, "subject_id": "p-4", "erased": True},
}


def test_paths_are_the_json_path_text_bound_into_each_value() -> None:
    found = crypto.personal_nodes(PAYLOAD)
    assert sorted(crypto.path_text(path) for path, _ in found) == [
        "$.erased", "$.nested.deeper.contact", "$.who", "$.witnesses[0].name",
        "$.witnesses[2][0]",
    ]
    assert crypto.subjects_of(found) == {"p-1", "p-2", "p-3"}  # p-4 is only a marker


def test_sealing_copies_only_what_it_changes_and_unseals_to_the_original() -> None:
    original = copy.deepcopy(PAYLOAD)
    materials = {n: crypto.new_key() for n in (1, 2, 3)}
    keys = {f"p-{n}": crypto.SubjectKey(n, m) for n, m in materials.items()}
    sealed = crypto.seal(PAYLOAD, "evt-1", keys)
    assert PAYLOAD == original  # the caller's payload is untouched
    assert sealed["rule"] == "R2" and sealed["witnesses"][1] == "n/a"
    assert "value" not in sealed["who"] and sealed["who"]["key_id"] == 1
    assert sealed["erased"] == {"pii": True, "subject_id": "p-4", "erased": True}
    assert crypto.key_ids_in(sealed) == {1, 2, 3}
    opened = crypto.unseal(sealed, "evt-1", dict(materials))
    assert opened["who"]["value"] == "Ada"
    assert opened["witnesses"][2][0]["value"] == "Ada again"
    assert opened["nested"]["deeper"]["contact"]["value"] == "ada@example.org"
    assert opened["erased"]["erased"] is True
    # The place is bound in: a value moved to another path does not open.
    moved = dict(sealed, who=sealed["witnesses"][0]["name"])
    with pytest.raises(InvalidTag):
        crypto.unseal(moved, "evt-1", dict(materials))


def test_base64_ciphertext_of_version_1_carries_its_nonce() -> None:
    key = crypto.SubjectKey(3, bytes(32))
    sealed = crypto.seal({"x": _pii("s", "v")}, "e", {"s": key}, crypto.CIPHER_GCM_HMAC_NONCE)
    raw = base64.b64decode(sealed["x"]["ct"])
    assert len(raw) == 12 + len(b"v") + 16


def test_a_dict_with_non_string_keys_is_not_mistaken_for_a_list() -> None:
    # canonical_json stores {1: ...} as {"1": ...}; the read side walks the stored form and
    # binds ".1" into the AAD, so sealing must bind ".1" too, never "[1]".
    payload = {"by_seat": {1: _pii("p-1", "Ada")}, "rows": [[_pii("p-1", "Bob")]]}
    found = crypto.personal_nodes(payload)
    assert sorted(crypto.path_text(path) for path, _ in found) == [
        "$.by_seat.1", "$.rows[0][0]"]
    material = crypto.new_key()
    sealed = crypto.seal(payload, "e", {"p-1": crypto.SubjectKey(1, material)})
    stored = orjson.loads(canonical_json(sealed))
    opened = crypto.unseal(stored, "e", {1: material})
    assert opened["by_seat"]["1"]["value"] == "Ada"
    assert opened["rows"][0][0]["value"] == "Bob"
