"""Which records of a case a correction has put right, and what stands instead.

The one answer every reader asks (issue 15: a correction takes effect downstream): the
case's own sanction (``CaseState.effective_sanction``), prior sanctions
(``respondent.py``), member standing (``measures.py``), the reporter's record
(``reporter.py``), the statements of reasons (domain/transparency.py) and the audit's
links (domain/audit/timeline.py). Rule-free, like the fold that records the facts.

A correction names the event it corrects by its ordinal in the fold, which is its stream
version (``CaseState.events_folded`` after it). A v1 correction named none: the fold
fills in the latest event of its kind before it, which is what it always meant.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from .event_base import CaseEventBase
from .record_events import CORRECTED_EVENT_TYPE, RecordCorrected
from .values import SANCTION_OUTCOMES, CorrectedRecord, Sanction

if TYPE_CHECKING:
    from .events import AppealDecided, DecisionRecorded
    from .state_model import CaseState

_KIND_OF_EVENT: dict[str, CorrectedRecord] = {t: k for k, t in CORRECTED_EVENT_TYPE.items()}

Positions = Mapping[CorrectedRecord, int]


def note_position(positions: dict[CorrectedRecord, int], event: CaseEventBase, seq: int
                  ) -> dict[CorrectedRecord, int]:
    """``positions`` after ``event`` (ordinal ``seq``): the latest event of each kind (the
    same dict when the event is of none: the fold runs on every event)."""
    kind = _KIND_OF_EVENT.get(event.type)
    return {**positions, kind: seq} if kind is not None else positions


def resolved(positions: Positions, event: RecordCorrected) -> RecordCorrected:
    """The correction naming the event it corrects (a v1 one: the latest of its kind)."""
    if event.corrects_version is not None or event.corrects not in positions:
        return event
    return event.model_copy(update={"corrects_version": positions[event.corrects]})


def correction_of(state: CaseState, kind: CorrectedRecord,
                  version: int | None = None) -> RecordCorrected | None:
    """The latest correction of the case's record of ``kind`` (the current one, or the
    event at ``version``), if any. A state folded before positions were kept (a case
    continued from an older run) knows no position: any correction of the kind counts."""
    target = state.on_record.get(kind) if version is None else version
    found = [c for c in state.corrections if c.corrects is kind
             and (target is None or c.corrects_version in (None, target))]
    return found[-1] if found else None


def outcome_correction(state: CaseState) -> RecordCorrected | None:
    """The latest correction of the case's outcome: its decision, appeal decision or the
    sanction carried out (one per case), if any."""
    found = [c for kind in SANCTION_OUTCOMES if (c := correction_of(state, kind)) is not None]
    return max(found, key=state.corrections.index, default=None)


def standing_sanction(state: CaseState, recorded: Sanction | None) -> Sanction | None:
    """The sanction that stands: ``recorded`` unless the outcome was corrected, then
    what the correction put in its place (None: no sanction stands)."""
    corrected = outcome_correction(state)
    return recorded if corrected is None else corrected.replaced_by


def decision_as_corrected(state: CaseState, decision: DecisionRecorded
                          ) -> DecisionRecorded | None:
    """The first-instance decision as it stands after corrections of itself or of the
    sanction carried out (a correction of the appeal decision leaves it as recorded):
    None when corrected away with no sanction in its place, else with the sanction that
    replaced it."""
    found = [c for kind in (CorrectedRecord.DECISION, CorrectedRecord.SANCTION)
             if (c := correction_of(state, kind)) is not None]
    corrected = max(found, key=state.corrections.index, default=None)
    if corrected is None:
        return decision
    if corrected.replaced_by is None:
        return None
    return decision.model_copy(update={"sanction": corrected.replaced_by})


def appeal_as_corrected(state: CaseState, appeal: AppealDecided, version: int
                        ) -> AppealDecided | None:
    """The appeal decision at ``version`` as it stands after a correction of it: None
    when corrected away with no sanction in its place, else with its replacement."""
    corrected = correction_of(state, CorrectedRecord.APPEAL_DECISION, version)
    if corrected is None:
        return appeal
    if corrected.replaced_by is None:
        return None
    return appeal.model_copy(update={"new_sanction": corrected.replaced_by})


def interim_corrected(state: CaseState, imposed_at_version: int) -> bool:
    """Whether the interim suspension imposed at that version was corrected away (with it
    its renewals, as member standing reads it)."""
    return correction_of(state, CorrectedRecord.INTERIM_SUSPENSION,
                         imposed_at_version) is not None
