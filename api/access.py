"""Who may read a case, and on what basis: party, assigned, auditor (by role), or
break-glass.

Parties see their filtered view; staff assigned to the case see the file (case officers
run every case, so they are assigned by office); auditors and data-protection officers
read by role. Anyone else with a staff role may break the glass by stating a purpose:
the read is allowed, recorded with the basis ``break-glass`` and flagged in the access
log. Everyone else is refused; a refused attempt that stated a purpose is recorded too
(basis ``break-glass-refused``, flagged).
"""

from __future__ import annotations

from enum import StrEnum

from ..domain import case as dc
from ..domain.base import Actor, NotPermitted
from ..domain.case import roles
from ..domain.records import READER_ROLES
from ..domain.streams import case_stream
from ..services.client import NotFound
from ..services.identity import AUDITOR, DPO
from ..services.records import RecordsClient
from ..store.eventstore import EventStore
from ..store.projections import case_state_from
from .deps import BREAK_GLASS_HEADER


class Basis(StrEnum):
    PARTY = "party"
    ASSIGNED = "assigned"
    AUDITOR = "auditor"
    BREAK_GLASS = "break-glass"


ROLE_READERS = frozenset({AUDITOR, DPO})
OFFICE_ROLES = frozenset({roles.CASE_OFFICER})
# Who may break the glass: staff and the roles that read by role, never a party role.
BREAK_GLASS_ROLES = (READER_ROLES | ROLE_READERS) - {roles.RESPONDENT, roles.COMPLAINANT}


def basis_of(state: dc.CaseState, reader: Actor) -> Basis | None:
    """The reader's standing basis to read this case, or None."""
    role, who = reader.role, reader.id
    if role == roles.RESPONDENT:
        ok = state.respondent is not None and state.respondent.person_id == who
        return Basis.PARTY if ok else None
    if role == roles.COMPLAINANT:
        ok = state.complainant is not None and state.complainant.person_id == who
        return Basis.PARTY if ok else None
    if role in ROLE_READERS:
        return Basis.AUDITOR
    if role in OFFICE_ROLES:
        return Basis.ASSIGNED
    assigned = {
        roles.INVESTIGATOR: state.investigators_ever | {state.investigator_id or ""},
        roles.PANEL_MEMBER: state.panel_ever,
        roles.APPEAL_PANEL_MEMBER: state.appeal_panel_ever,
    }.get(role, frozenset())
    return Basis.ASSIGNED if who in assigned else None


def authorise_read(state: dc.CaseState, reader: Actor, break_glass: str | None) -> Basis:
    """The basis the read is allowed on; NotPermitted names the rule otherwise."""
    basis = basis_of(state, reader)
    if basis is not None:
        return basis
    if reader.role not in BREAK_GLASS_ROLES:
        raise NotPermitted(f"{reader.role} {reader.id} has no part in this case",
                           rule="read-authorised", field="case_id")
    if not break_glass or not break_glass.strip():
        raise NotPermitted(f"{reader.role} {reader.id} is not assigned to this case: state a "
                           f"break-glass purpose in {BREAK_GLASS_HEADER} to read it (the "
                           "read is recorded and flagged)", rule="break-glass-purpose",
                           field=BREAK_GLASS_HEADER)
    return Basis.BREAK_GLASS


# What the access log records for a break-glass attempt that policy refused.
REFUSED_AUTHORITY = "break-glass-refused: the reader's role may not break the glass"


async def authorise(state: dc.CaseState, reader: Actor, break_glass: str | None,
                    records: RecordsClient) -> Basis:
    """``authorise_read``, with a refused break-glass attempt (a purpose stated, the read
    refused) put on the access log, flagged, before the refusal is answered."""
    try:
        return authorise_read(state, reader, break_glass)
    except NotPermitted:
        if break_glass and break_glass.strip():
            await records.record_read(state.case_id, reader, purpose=break_glass.strip(),
                                      authority=REFUSED_AUTHORITY, evidence_ids=[])
        raise


def authority_for(basis: Basis) -> str:
    """What the access log records as the authority of a read: its basis first, so the
    log says party / assigned / auditor / break-glass for each read."""
    return {
        Basis.PARTY: "party: a party to the case",
        Basis.ASSIGNED: "assigned: staff assigned to the case",
        Basis.AUDITOR: "auditor: read by role",
        Basis.BREAK_GLASS: "break-glass: unassigned reader, purpose stated",
    }[basis]


async def case_state(store: EventStore, case_id: str) -> dc.CaseState:
    events = await store.read_stream(case_stream(case_id))
    if not events:
        raise NotFound(case_id)
    return case_state_from(events, case_id)


def complainant_view(state: dc.CaseState) -> dc.CaseState:
    """What a complainant sees of a case: where it stands, nothing from the file."""
    return dc.CaseState(case_id=state.case_id, stage=state.stage,
                        acknowledged_at=state.acknowledged_at, closed=state.closed)
