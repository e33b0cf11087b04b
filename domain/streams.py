"""Stream names, defined once: every place that builds or parses one uses these.

A stream name is ``<prefix><id>``. Ids are opaque (they may contain ``-``), so a name is
parsed by its known prefix, never by splitting on the first dash.
"""

from __future__ import annotations

CASE_PREFIX = "case-"  # a case's lifecycle events (one workflow per case)
MEMBER_PREFIX = "member-"  # a member's membership facts
NOTIFICATIONS_PREFIX = "notifications-"  # notices dispatched for a case
ACCESS_PREFIX = "access-"  # reads of a case file (invariant 10)
SUBJECT_PREFIX = "subject-"  # a data subject's rights exercised (access, erasure)

# Streams whose id is a person's id: pseudonymised with the person in a subject export.
PERSON_PREFIXES: tuple[str, ...] = (MEMBER_PREFIX, SUBJECT_PREFIX)
PREFIXES: tuple[str, ...] = (CASE_PREFIX, MEMBER_PREFIX, NOTIFICATIONS_PREFIX, ACCESS_PREFIX,
                             SUBJECT_PREFIX)


def case_stream(case_id: str) -> str:
    return f"{CASE_PREFIX}{case_id}"


def member_stream(member_id: str) -> str:
    return f"{MEMBER_PREFIX}{member_id}"


def notification_stream(case_id: str) -> str:
    return f"{NOTIFICATIONS_PREFIX}{case_id}"


def access_stream(case_id: str) -> str:
    return f"{ACCESS_PREFIX}{case_id}"


def subject_stream(subject_id: str) -> str:
    return f"{SUBJECT_PREFIX}{subject_id}"


def _id_of(stream_id: str, prefix: str) -> str | None:
    return stream_id.removeprefix(prefix) if stream_id.startswith(prefix) else None


def case_id_of(stream_id: str) -> str | None:
    """The case id of a case stream; None for any other stream."""
    return _id_of(stream_id, CASE_PREFIX)


def member_id_of(stream_id: str) -> str | None:
    return _id_of(stream_id, MEMBER_PREFIX)


def is_case_stream(stream_id: str) -> bool:
    return stream_id.startswith(CASE_PREFIX)


def is_member_stream(stream_id: str) -> bool:
    return stream_id.startswith(MEMBER_PREFIX)


def split(stream_id: str) -> tuple[str, str] | None:
    """(prefix, id) for a known kind of stream; None otherwise."""
    prefix = next((p for p in PREFIXES if stream_id.startswith(p)), None)
    return (prefix, stream_id.removeprefix(prefix)) if prefix is not None else None
