"""Limits at the command boundary (domain/text.py): what comes in is judged, what is on
record keeps reading."""

from __future__ import annotations

import unicodedata
from collections import UserDict
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any, NamedTuple

import pytest
from dueprocess.domain import case as dc
from dueprocess.domain import text
from dueprocess.domain.base import Actor, Personal, personal
from dueprocess.domain.case.values import Sanction
from dueprocess.domain.membership.member import (
    MEMBER_COMMAND_ADAPTER,
    MEMBER_EVENT_ADAPTER,
    MemberJoined,
    RecordJoined,
)
from dueprocess.domain.policy import SanctionKind
from dueprocess.domain.text import (
    _CONTROL,
    ID,
    MAX_COMMAND_BYTES,
    MAX_ID_CHARS,
    MAX_TEXT_CHARS,
    email_problem,
    text_problem,
)
from fixtures.case_examples import T0, complainant, evidence, file_report
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

ADMIN = Actor(id="backoffice-1", role="membership_admin")


def report_json(**changes: Any) -> dict[str, Any]:
    """A valid FileReport as a client would send it, with ``changes`` applied by path."""
    doc: dict[str, Any] = file_report().model_dump(mode="json")
    for path, value in changes.items():
        target: Any = doc  # dicts and lists, by path
        *parents, last = path.split("__")
        for key in parents:
            target = target[int(key)] if key.isdigit() else target[key]
        target[last] = value
    return doc


def refused(doc: dict[str, Any]) -> list[dict[str, Any]]:
    with pytest.raises(ValidationError) as caught:
        dc.CASE_COMMAND_ADAPTER.validate_python(doc)
    return [{"loc": ".".join(str(x) for x in e["loc"]), "type": e["type"], "msg": e["msg"]}
            for e in caught.value.errors()]


def test_a_valid_report_passes() -> None:
    assert isinstance(dc.CASE_COMMAND_ADAPTER.validate_python(report_json()), dc.FileReport)


def test_a_nul_in_a_person_id_is_refused_naming_the_field() -> None:
    # Was: accepted, then the append failed in PostgreSQL and was retried for 10 minutes.
    errors = refused(report_json(respondent__person_id="m-\x00200"))
    assert errors[0]["loc"].endswith("respondent.person_id")
    assert errors[0]["type"] == "text_nul"


def test_a_lone_surrogate_anywhere_is_refused() -> None:
    errors = refused(report_json(allegations__0__particulars__value="bad \ud800 text"))
    assert errors[0]["loc"].endswith("allegations.0.particulars.value")
    assert errors[0]["type"] == "text_surrogate"


def test_an_oversized_id_and_oversized_free_text_are_refused() -> None:
    errors = refused(report_json(respondent__person_id="m" * (MAX_ID_CHARS + 1)))
    assert errors[0]["type"] == "text_too_long"
    errors = refused(report_json(allegations__0__particulars__value="x" * (MAX_TEXT_CHARS + 1)))
    assert errors[0]["loc"].endswith("particulars.value")


def test_a_3mb_field_is_refused_before_anything_is_sent() -> None:
    errors = refused(report_json(evidence__0__description__value="x" * 3_000_000))
    assert errors[0]["type"] == "text_too_long"


def test_the_whole_command_is_bounded_well_under_temporals_payload_limit() -> None:
    items = [evidence(f"E{i}").model_copy(update={"description": personal(
        "m-200", "y" * 60_000)}) for i in range(6)]
    with pytest.raises(ValidationError) as caught:
        file_report(evidence_items=items)
    assert caught.value.errors()[0]["type"] == "command_too_large"
    assert MAX_COMMAND_BYTES < 2 * 1024 * 1024 // 4


def test_model_instances_passed_in_are_judged_too() -> None:
    # pydantic does not re-validate a model instance: the walk over the command does.
    bad = complainant(person_id="p" * 500)
    with pytest.raises(ValidationError, match=r"complainant\.person_id"):
        file_report(report_complainant=bad)


@pytest.mark.parametrize("address", ["ada@example.org\r\nBcc: all@example.org",
                                     "ada@example.org\n", "not an address", "a@b@c",
                                     "ada@exa mple.org"])
def test_a_contact_must_be_an_email_address_without_cr_or_lf(address: str) -> None:
    # Was: accepted, and failed only at dispatch, retried for 6 hours.
    errors = refused(report_json(complainant__contact__value=address))
    assert errors[0]["loc"].endswith("complainant.contact.value")


def test_a_good_contact_passes() -> None:
    dc.CASE_COMMAND_ADAPTER.validate_python(
        report_json(complainant__contact__value="Ada.Member+case@example.org"))
    assert email_problem("ada@example.org") is None


@pytest.mark.parametrize("day", ["1899-12-31", "2201-01-01", "0001-01-01", "9999-12-31"])
def test_dates_are_within_sane_bounds(day: str) -> None:
    errors = refused(report_json(allegations__0__conduct_date=day))
    assert errors[0]["type"] == "date_out_of_range"


def test_a_sanction_term_cannot_overflow_a_timer() -> None:
    with pytest.raises(ValidationError, match="at most"):
        dc.DecideAppeal(actor=ADMIN, authority="a", outcome=dc.AppealOutcome.SANCTION_VARIED,
                        reasons="r", new_sanction=Sanction(kind=SanctionKind.SUSPENSION,
                                                           term=timedelta(days=3_000_000)))


def test_a_10mb_membership_number_is_refused() -> None:
    with pytest.raises(ValidationError, match="membership_number"):
        MEMBER_COMMAND_ADAPTER.validate_python({
            "type": "RecordJoined", "actor": ADMIN.model_dump(), "authority": "bylaws",
            "membership_number": "9" * 10_000_000, "joined_on": "2020-01-01"})


def test_a_cr_in_a_one_line_field_is_refused() -> None:
    with pytest.raises(ValidationError, match="one line"):
        RecordJoined(actor=ADMIN, authority="bylaws\r\nX: y", membership_number="M-1",
                     joined_on=date(2020, 1, 1))


def test_timer_commands_built_by_the_workflow_are_never_refused_for_their_dates() -> None:
    far = datetime(2400, 1, 1, tzinfo=UTC)
    assert dc.EndSanction(actor=ADMIN, authority="a", ends_at=far).ends_at == far


def test_events_already_on_record_keep_reading() -> None:
    """Limits judge commands only: an event stored before them (oversized ids, a NUL in
    a personal value decrypted from the store) still reads and folds."""
    event = MEMBER_EVENT_ADAPTER.validate_python({
        "type": "MemberJoined", "actor": ADMIN.model_dump(), "authority": "bylaws",
        "effective_at": "2020-01-01T00:00:00Z", "member_id": "m-1",
        "membership_number": "9" * 1_000_000, "joined_on": "2020-01-01"})
    assert isinstance(event, MemberJoined)
    assert len(event.membership_number) == 1_000_000
    filed = dc.decide(dc.CaseState.empty("c1"), file_report(), T0 + timedelta(days=1))
    stored = filed[0].model_dump(mode="json")
    stored["respondent"]["person_id"] = "p" * 5_000
    stored["allegations"][0]["particulars"]["value"] = "old \x00 text " * 10_000
    stored["complainant"]["contact"]["value"] = "not an address"
    again = dc.CASE_EVENT_ADAPTER.validate_python(stored)
    state = dc.evolve(dc.CaseState.empty("c1"), again)
    assert state.report is not None and len(state.report.respondent.person_id) == 5_000


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_text_problem_finds_exactly_nul_surrogates_and_length(value: str) -> None:
    problem = text_problem(value, ID)
    bad = ("\x00" in value or any(0xD800 <= ord(c) <= 0xDFFF for c in value)
           or len(value) > MAX_ID_CHARS or any(ord(c) < 32 or 127 <= ord(c) < 160
                                                for c in value))
    assert (problem is not None) == bad


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=250))
def test_a_person_id_is_accepted_exactly_when_it_is_a_short_clean_line(value: str) -> None:
    try:
        dc.CASE_COMMAND_ADAPTER.validate_python(report_json(respondent__person_id=value))
    except ValidationError as err:
        assert err.errors()[0]["loc"][-1] == "person_id"
        accepted = False
    else:
        accepted = True
    assert accepted == (text_problem(value, ID) is None and bool(value.strip()))


def test_the_control_pattern_is_exactly_unicodes_control_category() -> None:
    # Given every code point
    # Then the pattern the checks search with matches exactly those in category Cc
    matched = {c for c in range(0x110000) if _CONTROL.fullmatch(chr(c))}
    assert matched == {c for c in range(0x110000) if unicodedata.category(chr(c)) == "Cc"}


class _Kinds(StrEnum):
    A = "a"


class _Row(NamedTuple):
    x: int


@pytest.mark.parametrize("value", [
    "text", _Kinds.A, b"bytes", 1, True, 1.5, None, date(2020, 1, 1),
    datetime(2020, 1, 1, tzinfo=UTC), timedelta(1), {"k": "v"}, MappingProxyType({}),
    UserDict(), [1], (1,), _Row(1), {1}, frozenset(), Personal(subject_id="p", value="v"),
])
def test_the_walk_sorts_values_by_class_as_isinstance_would(value: Any) -> None:
    # the walk's cached per-class kind (text.py _kind) against the isinstance chain it replaced
    chain = next((kind for kind, types_ in (
        (text._TEXT, str), (text._DATE, date), (text._SPAN, timedelta),
        (text._MODEL, BaseModel), (text._MAPPING, Mapping),
        (text._COLLECTION, (list, tuple, set, frozenset))) if isinstance(value, types_)),
        text._OTHER)
    assert text._kind(value.__class__) == chain
