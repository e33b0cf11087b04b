"""The vocabulary a policy is written in: rights, sanction kinds and the statuses they
impose, evidence source kinds, ISO-8601 durations (days, weeks and time parts only; bare
numbers and months/years are refused, see policy.py), non-blank text, and the bounds every
policy keeps.

Split out of policy.py, which re-exports every name here.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, PlainSerializer


class Right(StrEnum):
    """Membership rights a status can remove."""

    VOTE = "vote"
    STAND_FOR_OFFICE = "stand_for_office"
    ATTEND = "attend"


class SanctionKind(StrEnum):
    """Sanctions a decision may impose. Interim suspension is deliberately absent:
    it is a holding measure, never a sanction (ACAS 8)."""

    WARNING = "warning"
    SUSPENSION = "suspension"
    EXPULSION = "expulsion"


SANCTION_SEVERITY: dict[SanctionKind, int] = {
    SanctionKind.WARNING: 1, SanctionKind.SUSPENSION: 2, SanctionKind.EXPULSION: 3,
}

# The status a member holds while each measure is in effect; the policy says which
# rights that status removes.
INTERIM_STATUS = "interim_suspended"
SANCTION_STATUS: dict[SanctionKind, str] = {
    SanctionKind.WARNING: "warned",
    SanctionKind.SUSPENSION: "suspended",
    SanctionKind.EXPULSION: "expelled",
}
REQUIRED_STATUSES = frozenset({INTERIM_STATUS, *SANCTION_STATUS.values()})


class SourceKind(StrEnum):
    """Where a piece of evidence came from; private kinds need consent or a lawful basis."""

    PUBLIC_POST = "public_post"
    PRIVATE_MESSAGE = "private_message"
    THIRD_PARTY_SCREENSHOT = "third_party_screenshot"
    AUTOMATED_CAPTURE = "automated_capture"
    DOCUMENT = "document"
    WITNESS_STATEMENT = "witness_statement"


_ISO_DURATION = re.compile(
    r"^P(?:\d+W|(?:\d+D)?(?:T(?:\d+H)?(?:\d+M)?(?:\d+(?:\.\d+)?S)?)?)$")


def _iso_duration(value: object) -> object:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, str) and value not in ("P", "PT") and _ISO_DURATION.match(value):
        return value
    raise ValueError("must be an ISO-8601 duration in days/weeks/hours such as 'P14D'")


# Ten years (with leap days): longer than any disciplinary period, far below the limits
# of datetime arithmetic and of Temporal's timers, so no deadline can overflow either.
MAX_DURATION = timedelta(days=3653)
# Effective dates a rulebook may name; with MAX_DURATION every deadline stays in year 2210.
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2199, 12, 31)
MAX_VERSIONS = 100
MAX_RULES = 200
MAX_EXAMPLES = 20
MAX_STATUSES = 50
MAX_LIST = 50  # sanctions, source kinds, lawful bases, rights of a status
MAX_SHORT_TEXT = 200  # ids, titles, version names, lawful bases
MAX_LONG_TEXT = 10_000  # definitions and examples

# Least length of the periods that protect the respondent (ACAS Code paras 9-12, 26-27):
# time to answer the allegations, notice of the hearing, sight of the evidence before it,
# and time to appeal. Checked on publication (see ``publication_problems``).
PUBLICATION_FLOORS: dict[str, timedelta] = {
    "respond": timedelta(days=7),
    "minimum_hearing_notice": timedelta(days=5),
    "disclosure_lead_time": timedelta(days=2),
    "appeal_window": timedelta(days=7),
}


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError("must be a positive duration")
    if value > MAX_DURATION:
        raise ValueError(f"must be at most {MAX_DURATION.days} days (ten years)")
    return value


def _sane_date(value: date) -> date:
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise ValueError(f"must be between {EARLIEST_DATE.isoformat()} and "
                         f"{LATEST_DATE.isoformat()}")
    return value


_NO_TIME = timedelta(0)


def iso_duration_text(value: timedelta) -> str:
    """Days and time parts only (pydantic's own output says "P1Y" for 365 days), exact to
    the microsecond, so that what is written reads back as the same duration. In integers:
    the float seconds and ``:g`` before wrote 59.999999 s as "PT60S" and 1 us as "PT1e-06S"
    (which no duration field accepts), and cost a filing's policy dump ~4% of the worker's
    CPU in the benchmark (issue 14)."""
    sign = "-" if value < _NO_TIME else ""
    value = abs(value)
    minutes, seconds = divmod(value.seconds, 60)
    hours, minutes = divmod(minutes, 60)
    second = (f"{seconds}.{value.microseconds:06d}".rstrip("0") if value.microseconds
              else str(seconds) if seconds else "")
    time = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "") + (
        f"{second}S" if second else "")
    if not time:
        return f"{sign}P{value.days}D"
    return f"{sign}P{value.days}DT{time}" if value.days else f"{sign}PT{time}"


def _count(n: int, unit: str) -> str:
    return f"{n} {unit}{'' if n == 1 else 's'}"


def duration_text(value: timedelta) -> str:
    """A period as people read it in a message ("2 weeks", "14 days", "1 day 6 hours"),
    not ``str(timedelta)``'s "14 days, 0:00:00"; to the second."""
    if value < _NO_TIME:
        text = duration_text(-value)
        return text if text == "0 seconds" else "-" + text
    days, rest = value.days, value.seconds
    if not rest and days and days % 7 == 0:
        return _count(days // 7, "week")
    minutes, seconds = divmod(rest, 60)
    hours, minutes = divmod(minutes, 60)
    parts = [_count(n, unit) for n, unit in ((days, "day"), (hours, "hour"),
                                             (minutes, "minute"), (seconds, "second")) if n]
    return " ".join(parts) or "0 seconds"


IsoDuration = Annotated[timedelta, PlainSerializer(iso_duration_text, when_used="json")]
Duration = Annotated[
    timedelta, BeforeValidator(_iso_duration), AfterValidator(_positive),
    PlainSerializer(iso_duration_text, when_used="json"),
]


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


Text = Annotated[str, AfterValidator(_not_blank)]
ShortText = Annotated[str, Field(max_length=MAX_SHORT_TEXT), AfterValidator(_not_blank)]
LongText = Annotated[str, Field(max_length=MAX_LONG_TEXT), AfterValidator(_not_blank)]
PolicyDate = Annotated[date, AfterValidator(_sane_date)]
# Where a published text can be read: an absolute http(s) address, one line, no spaces.
WebAddress = Annotated[str, Field(max_length=MAX_SHORT_TEXT, pattern=r"^https?://[^\s/]+\S*$")]


