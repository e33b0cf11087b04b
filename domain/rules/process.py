"""Rules judged over the whole record by the audit (no single step shows them), and the
command checks decide() makes on a command's own shape or its sender.
"""

from __future__ import annotations

from ..base import DueProcessViolation, InvalidCommand, NotPermitted
from .model import ProcessRule, RuleKind, acas, case_law, dsa, gdpr, invariant, report

EVENTS_READABLE = ProcessRule(
    "events-readable", "Every event reads as a case event", report("ACAS records guidance"),
    InvalidCommand, kind=RuleKind.HISTORY)

REINSTATEMENT_AFTER_APPEAL = ProcessRule(
    "reinstatement-after-successful-appeal", "A successful appeal is followed by "
    "reinstatement that restores rights and corrects the record",
    dsa("20") + gdpr("16") + invariant(9), DueProcessViolation, kind=RuleKind.HISTORY,
    guards=("Reinstate",))

INSTRUCTIONS_ON_RECORD = ProcessRule(
    "instructions-on-record", "Only people assigned to the case acted on it; instructions "
    "from anyone else are on the record", report("EHRC 2020") + invariant(5), NotPermitted,
    kind=RuleKind.HISTORY, guards=("RecordInstruction",))

COMPLAINANT_INFORMED = ProcessRule(
    "complainant-informed", "The complainant was acknowledged and told the outcome",
    dsa("16(4)", "16(5)") + invariant(11), DueProcessViolation, kind=RuleKind.HISTORY,
    guards=("AcknowledgeReport",))

ROLE_PERMISSION = ProcessRule(
    "role-permission", "Only the role the procedure names, held in this case, may act",
    acas("5") + report("EHRC 2020") + invariant(5), NotPermitted, kind=RuleKind.COMMAND,
    guards=("*",))

NO_JUDGE_IN_OWN_CAUSE = ProcessRule(
    "no-judge-in-own-cause", "A party never acts as staff in their own case",
    case_law("Porter v Magill", "nemo iudex in causa sua"), NotPermitted, kind=RuleKind.COMMAND,
    guards=("*",))

NO_SANCTION = ProcessRule(
    "no-sanction", "A sanction is carried out only when one stands", acas("18") + invariant(1),
    InvalidCommand, kind=RuleKind.COMMAND, guards=("CarryOutSanction",))

STAFF_ONLY_COMMANDS = (ROLE_PERMISSION, NO_JUDGE_IN_OWN_CAUSE, NO_SANCTION)
HISTORY = (EVENTS_READABLE, REINSTATEMENT_AFTER_APPEAL, INSTRUCTIONS_ON_RECORD,
           COMPLAINANT_INFORMED)
