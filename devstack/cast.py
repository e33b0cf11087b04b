"""The demo's people, as the local issuer's sign-in page offers them (issuer_login.py).

The staff are the same in every demo run (their ids live here; demo.py uses them) and
are offered from the start; a run's complainant and respondent get ids of their own, so
a run adds them with ``LocalIssuer.login.offer(cast(people))`` (or they sign in by id).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..domain.case import roles
from ..services.roles import AUDITOR
from .issuer_login import Person

if TYPE_CHECKING:
    from .demo import People

CASE_OFFICER = "staff-amira"
INVESTIGATOR = "staff-tom"
PANEL = ("panel-ruth", "panel-kwame", "panel-sofia")
APPEAL_PANEL = ("appeal-helen", "appeal-ibrahim", "appeal-mei")
DEMO_AUDITOR = "audit-olu"


def _staff(subject: str, role: str) -> Person:
    name = subject.split("-", 1)[-1].capitalize()
    return Person(subject, (role,), f"{name} ({role.replace('_', ' ')})")


def staff_cast() -> list[Person]:
    """The demo's staff and auditor, each with their role."""
    return [
        _staff(CASE_OFFICER, roles.CASE_OFFICER),
        _staff(INVESTIGATOR, roles.INVESTIGATOR),
        *(_staff(m, roles.PANEL_MEMBER) for m in PANEL),
        *(_staff(m, roles.APPEAL_PANEL_MEMBER) for m in APPEAL_PANEL),
        _staff(DEMO_AUDITOR, AUDITOR),
    ]


def cast(p: People) -> list[Person]:
    """Everyone in a demo run: the staff, the respondent and the complainant."""
    return [
        *staff_cast(),
        Person(p.respondent, (roles.RESPONDENT,), "Daniel Okafor (respondent)"),
        Person(p.complainant, (roles.COMPLAINANT,), "Priya Shah (complainant)"),
    ]
