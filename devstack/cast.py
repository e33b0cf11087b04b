"""The demo's people as the local issuer's sign-in page offers them (devstack/issuer_login).

The staff are the same in every run; the complainant and the respondent get a run's own
ids, so a demo run adds them with ``LocalIssuer.login.offer(cast(people))``.
"""

from __future__ import annotations

from ..domain.case import roles
from ..services.identity import AUDITOR
from .demo import People, _people
from .issuer_login import Person

DEMO_AUDITOR = "audit-olu"


def cast(p: People, *, auditor: str = DEMO_AUDITOR) -> list[Person]:
    """Everyone in a demo run, each with their role, labelled for the sign-in page."""
    def staff(subject: str, role: str) -> Person:
        name = subject.split("-", 1)[-1].capitalize()
        return Person(subject, (role,), f"{name} ({role.replace('_', ' ')})")

    return [
        staff(p.case_officer, roles.CASE_OFFICER),
        staff(p.investigator, roles.INVESTIGATOR),
        *(staff(m, roles.PANEL_MEMBER) for m in p.panel),
        *(staff(m, roles.APPEAL_PANEL_MEMBER) for m in p.appeal_panel),
        staff(auditor, AUDITOR),
        Person(p.respondent, (roles.RESPONDENT,), "Daniel Okafor (respondent)"),
        Person(p.complainant, (roles.COMPLAINANT,), "Priya Shah (complainant)"),
    ]


def staff_cast() -> list[Person]:
    """The demo's staff and auditor (the same in every run), for a fresh dev stack."""
    every = cast(_people("run"))
    return [p for p in every if not {roles.RESPONDENT, roles.COMPLAINANT} & set(p.roles)]
