"""Where staff notices go: a mailbox per staff role (``DUEPROCESS_STAFF_MAILBOXES``).

An escalated deadline's notice is addressed to a role, not a person (domain/case/
notifications.py), so the deployment says which mailbox each role reads.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import get_args

from ..activities.contracts import OutgoingNotification
from ..domain.policy import EscalationRole

STAFF_ROLES: frozenset[str] = frozenset(get_args(EscalationRole))
_ADDRESS = re.compile(r"^[^@\s,=]+@[^@\s,=]+$")
ROLE_PREFIX = "role:"  # the recipient id of a staff notice (domain STAFF_RECIPIENT)


def parse_mailboxes(text: str) -> dict[str, str]:
    """``case_officer=officers@example.org,...`` -> mapping; ValueError names the bad part."""
    mapping: dict[str, str] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        role, sep, address = (s.strip() for s in part.partition("="))
        if not sep or role not in STAFF_ROLES or not _ADDRESS.match(address):
            raise ValueError(f"{part!r}: each entry must be ROLE=address, ROLE one of "
                             f"{', '.join(sorted(STAFF_ROLES))}")
        mapping[role] = address
    return mapping


def addressed(note: OutgoingNotification, mailboxes: Mapping[str, str]) -> OutgoingNotification:
    """A staff notice with its role's mailbox as the address (a placeholder in the
    .invalid domain when none is configured); any other notice unchanged."""
    if note.address is not None or not note.recipient_subject_id.startswith(ROLE_PREFIX):
        return note
    role = note.recipient_subject_id.removeprefix(ROLE_PREFIX)
    return note.model_copy(update={"address": mailboxes.get(role, f"{role}@staff.invalid")})
