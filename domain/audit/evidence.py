"""The evidence on file as the auditor must see it: provenance, ruling, reliance."""

from __future__ import annotations

from ..case.events import DecisionRecorded
from ..rules.evidence import reliance
from .context import History
from .model import CheckResult, EventRef, EvidenceRow
from .results import event_ref


def evidence_rows(h: History) -> list[EvidenceRow]:
    relied: dict[str, list[EventRef]] = {}
    for decision in h.of(DecisionRecorded):
        for _, evidence_id in reliance(decision.event):
            refs = relied.setdefault(evidence_id, [])
            ref = event_ref(decision.record)
            if ref not in refs:
                refs.append(ref)
    final = h.final
    return [EvidenceRow(
        evidence_id=item.evidence_id, source_kind=item.source_kind.value,
        captured_by=item.captured_by, captured_from=item.captured_from, consent=item.consent,
        lawful_basis=item.lawful_basis, admissible=item.evidence_id not in final.inadmissible,
        reason=final.inadmissible.get(item.evidence_id),
        relied_on_by=relied.get(item.evidence_id, []))
        for item in final.evidence.values()]


def _row_text(row: EvidenceRow) -> str:
    ruling = "admissible" if row.admissible else f"INADMISSIBLE ({row.reason})"
    relied = ", ".join(f"v{r.stream_version} {r.event_type}" for r in row.relied_on_by)
    return (f"{row.evidence_id}: {row.source_kind} captured by {row.captured_by} from "
            f"{row.captured_from}, consent {'yes' if row.consent else 'no'}, lawful basis "
            f"{row.lawful_basis or 'none'}: {ruling}; "
            + (f"relied on by {relied}" if relied else "not relied on"))


def with_items(check: CheckResult, rows: list[EvidenceRow]) -> CheckResult:
    """The admissibility verdict, showing each item it judged."""
    if not rows:
        return check
    items = "; ".join(_row_text(row) for row in rows)
    return check.model_copy(update={"explanation": f"{check.explanation}. Items: {items}"})
