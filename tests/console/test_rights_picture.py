"""The picture of a member's rights over time: the spans are standing's own answers, and
the SVG is well-formed, accessible XML for any recorded history."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime, timedelta

from dueprocess.console.rights_timeline import RightsPicture, rights_over_time
from dueprocess.console.standing_svg import describe, rights_svg, ticks
from dueprocess.domain.case.values import AppealOutcome, Sanction
from dueprocess.domain.membership.member import RecordResigned
from dueprocess.domain.membership.standing import standing
from dueprocess.domain.policy import Right, SanctionKind
from fixtures.member_history import (
    ADMIN,
    EIGHT_WEEKS,
    EXPULSION,
    MEMBER,
    POLICY,
    History,
    appeal,
    applied,
    decision,
    interim,
    joined,
    lifted,
    report,
    t,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SVG = "{http://www.w3.org/2000/svg}"
UNTIL = t(2025, 1, 1)


def picture(history: History, as_known_on: datetime | None = None) -> RightsPicture:
    return rights_over_time(MEMBER, history.events, POLICY, UNTIL, as_known_on)


def suspended_then_voided() -> History:
    h = History()
    h.member(joined())
    h.case("c1", report("c1", t(2024, 4, 1)))
    h.case("c1", interim(t(2024, 4, 10)))
    h.case("c1", decision(t(2024, 6, 1), EIGHT_WEEKS))
    h.case("c1", applied(t(2024, 6, 10), EIGHT_WEEKS))
    h.case("c1", appeal(t(2024, 7, 15), AppealOutcome.ALLOWED))
    return h


def test_the_picture_shows_the_interim_measure_and_the_voided_suspension() -> None:
    # given a member interim-suspended, then suspended, the suspension voided on appeal
    history = suspended_then_voided()
    # when the picture is drawn as everything recorded says
    p = picture(history)
    # then the standing row: member, interim suspension (no rights), member again for good
    assert [(s.status, s.start, s.rights) for s in p.spans] == [
        ("member", t(2019, 3, 1, 0), tuple(Right)),
        ("interim_suspended", t(2024, 4, 10), ()),
        ("member", t(2024, 6, 1), tuple(Right)),
    ]
    # and both measures are on it, the suspension voided by the appeal of 15 July
    interim_bar, sanction = p.measures
    assert (interim_bar.interim, interim_bar.end, interim_bar.voided) == (
        True, t(2024, 6, 1), False)
    assert (sanction.status, sanction.voided, sanction.voided_on) == (
        "suspended", True, t(2024, 7, 15))
    assert sanction.label == "suspended"


def test_as_known_before_the_appeal_the_suspension_stood() -> None:
    # given the same history
    history = suspended_then_voided()
    # when drawn as known on 1 July, before the appeal was decided
    p = picture(history, as_known_on=t(2024, 7, 1))
    # then the member was suspended for eight weeks from 10 June, nothing voided
    suspended = next(s for s in p.spans if s.status == "suspended")
    assert (suspended.start, suspended.end, suspended.rights) == (
        t(2024, 6, 10), t(2024, 6, 10) + timedelta(weeks=8), ())
    assert not any(b.voided for b in p.measures)


def test_the_svg_names_itself_and_tells_the_history_in_words() -> None:
    # given the picture of the voided suspension
    p = picture(suspended_then_voided())
    # when rendered
    svg = ET.fromstring(rights_svg(p, ident="r1"))
    # then it is an image labelled by its title and description
    assert svg.tag == f"{SVG}svg" and svg.get("role") == "img"
    assert svg.get("aria-labelledby") == "r1-title r1-desc"
    title, desc = svg.find(f"{SVG}title"), svg.find(f"{SVG}desc")
    assert title is not None and title.text == f"Rights over time of member {MEMBER}"
    assert desc is not None and (desc.text or "").startswith(describe(p))
    assert "voided on appeal on 2024-07-15: it never took effect" in (desc.text or "")
    # and the status is written, not only coloured; no style attribute (strict CSP)
    labels = {node.text for node in svg.iter(f"{SVG}text")}
    assert {"member", "interim suspended", "removed", "held", "standing"} <= labels
    assert all("style" not in node.attrib for node in svg.iter())


def test_an_expulsion_ends_only_on_readmission() -> None:
    # given an expelled member who resigned... and never came back
    h = History()
    h.member(joined())
    h.case("c1", report("c1", t(2024, 4, 1)))
    h.case("c1", decision(t(2024, 6, 1), EXPULSION))
    h.case("c1", applied(t(2024, 6, 10), EXPULSION))
    # when drawn
    p = picture(h)
    # then the expulsion runs to the end of the picture, open
    assert p.spans[-1].status == "expelled" and p.spans[-1].end == UTC_END
    assert p.measures[-1].end is None
    assert "expelled from 2024-06-10 to open" in describe(p)


UTC_END = UNTIL


def test_no_history_draws_an_empty_picture() -> None:
    p = rights_over_time(MEMBER, [], POLICY, UNTIL)
    assert p.spans == () and p.measures == ()
    assert "nothing recorded" in rights_svg(p)


def test_ticks_are_calendar_dates_inside_the_period() -> None:
    assert [label for _, label in ticks(t(2019, 3, 1), t(2025, 1, 1))] == [
        "2020", "2021", "2022", "2023", "2024", "2025"]
    assert [label for _, label in ticks(t(2024, 4, 20), t(2024, 8, 1))] == [
        "2024-05", "2024-06", "2024-07", "2024-08"]
    assert len(ticks(t(2024, 4, 20), t(2024, 4, 30))) <= 8


# -- property: for any history, the picture is standing, and the SVG is well-formed ----------

days = st.integers(min_value=0, max_value=900)
when = st.builds(lambda d: t(2023, 1, 1) + timedelta(days=d), days)


@st.composite
def histories(draw: st.DrawFn) -> History:
    h = History()
    h.member(joined())
    base = draw(when)
    late = draw(st.integers(min_value=0, max_value=120))
    h.case("c1", report("c1", base))
    if draw(st.booleans()):
        h.case("c1", interim(base + timedelta(days=3)))
        if draw(st.booleans()):
            h.case("c1", lifted(base + timedelta(days=10)))
    kind = draw(st.sampled_from([None, *SanctionKind]))
    if kind is not None:
        term = timedelta(weeks=draw(st.integers(1, 20))) if kind == SanctionKind.SUSPENSION \
            else None
        sanction = Sanction(kind=kind, term=term)
        h.case("c1", decision(base + timedelta(days=20), sanction))
        h.case("c1", applied(base + timedelta(days=25), sanction))
        outcome = draw(st.sampled_from([None, *AppealOutcome]))
        if outcome is not None:
            new = EIGHT_WEEKS if outcome is AppealOutcome.SANCTION_VARIED else None
            h.case("c1", appeal(base + timedelta(days=40), outcome, new),
                   recorded_at=base + timedelta(days=40 + late))
    if draw(st.booleans()):
        h.member(RecordResigned(actor=ADMIN, authority="bylaws", in_protest=False,
                                effective_at=base + timedelta(days=draw(days))))
    return h


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories(), st.none() | when, st.lists(when, min_size=1, max_size=5))
def test_every_span_is_what_standing_says_at_any_instant_inside_it(
        history: History, as_known_on: datetime | None, instants: list[datetime]) -> None:
    # given any history, drawn as known on any date
    p = rights_over_time(MEMBER, history.events, POLICY, t(2026, 1, 1), as_known_on)
    # then the spans tile the period without gap or overlap
    assert all(a.end == b.start for a, b in zip(p.spans, p.spans[1:], strict=False))
    # and at any instant the span holding it says what standing says
    for at in instants:
        span = next((s for s in p.spans if s.start <= at < s.end), None)
        if span is None:
            continue
        answer = standing(MEMBER, history.events, POLICY, at, as_known_on)
        assert (span.status, list(span.rights)) == (answer.status, answer.rights)
    # and the SVG is well-formed XML with a title and a description
    svg = ET.fromstring(rights_svg(p))
    assert svg.find(f"{SVG}title") is not None and svg.find(f"{SVG}desc") is not None


@given(st.text(max_size=40))
def test_any_member_id_makes_well_formed_svg(member_id: str) -> None:
    p = RightsPicture(member_id=member_id, start=UNTIL, end=UNTIL, as_known_on=None,
                      spans=(), measures=())
    assert ET.fromstring(rights_svg(p)).get("role") == "img"
