"""Old case event shapes, read as the current ones (events are a storage format).

The store applies these on every read (``EventStore(upcasters=CASE_UPCASTERS)``), so
audit, projections and reloads see one shape; stored bytes are never edited.
"""

from __future__ import annotations

from ..encoding import Payload, Upcasters

CASE_UPCASTERS = Upcasters()


@CASE_UPCASTERS.register("SanctionApplied", 1)
def _sanction_v1(payload: Payload) -> Payload:
    """v1 had no currency period: current indefinitely, as the rulebook then said."""
    return {"current_until": None, **payload}


@CASE_UPCASTERS.register("InstructionRecorded", 1)
def _instruction_v1(payload: Payload) -> Payload:
    """v1 recorded only instructions that reached the case: say so explicitly."""
    return {"direction": "received", "kind": "instruction", "outside_body": None,
            "to_person_id": None, "to_role": None, "shared": None, "shared_evidence_ids": [],
            **payload}


@CASE_UPCASTERS.register("DecisionRecorded", 1)
def _decision_v1(payload: Payload) -> Payload:
    """v1 read no prior sanctions: none weighed, none cited."""
    return {"prior_sanctions": None, "aggravating_priors": [], **payload}


@CASE_UPCASTERS.register("RecordCorrected", 1)
def _correction_v1(payload: Payload) -> Payload:
    """v1 named no event (it corrects the latest of its kind before it, as the fold and the
    audit infer) and no replacement: the outcome it corrected no longer stands."""
    return {"corrects_version": None, "replaced_by": None, **payload}


@CASE_UPCASTERS.register("DeadlineMissed", 1)
def _missed_v1(payload: Payload) -> Payload:
    """v1 escalated every miss to the case officer and named no next step."""
    return {"escalated_to": "case_officer", "next_step": None, **payload}


@CASE_UPCASTERS.register("DataCollectionNoticeMissed", 1)
def _notice_missed_v1(payload: Payload) -> Payload:
    """v1 escalated every Art 14 miss to the data protection officer, no next step named."""
    return {"escalated_to": "data_protection_officer", "next_step": None, **payload}
