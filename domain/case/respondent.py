"""A respondent's prior sanctions built from their recorded cases (ACAS Code paras 19-22):
what the workflow hands to decide() with a decision. Which of them count is a rule
(domain/rules/priors.py); the values are in ``priors.py``.
"""

from __future__ import annotations

from collections.abc import Iterable

from .corrections import standing_sanction
from .priors import MAX_PRIOR_SANCTIONS, PriorSanction, RespondentRecord
from .state_model import CaseState


def respondent_record(respondent_id: str, cases: Iterable[CaseState]) -> RespondentRecord:
    """The sanctions carried out against ``respondent_id`` across their cases.

    A sanction reversed on appeal leaves nothing on file (GDPR Art 16; the reinstatement
    corrects the record), so it is not a prior sanction; nor is one a correction annulled,
    and one a correction replaced counts as what replaced it (corrections.py).
    """
    found: list[PriorSanction] = []
    for state in cases:
        applied, respondent = state.sanction, state.respondent
        if applied is None or respondent is None or respondent.person_id != respondent_id:
            continue
        if state.reinstated is not None and state.reinstated.record_corrected:
            continue
        sanction = standing_sanction(state, applied.sanction)
        if sanction is None:
            continue
        found.append(PriorSanction(case_id=state.case_id, sanction=sanction,
                                   applied_at=applied.effective_at,
                                   current_until=applied.current_until))
    ordered = sorted(found, key=lambda p: (p.applied_at, p.case_id))
    return RespondentRecord(respondent_id=respondent_id,
                            sanctions=ordered[-MAX_PRIOR_SANCTIONS:])
