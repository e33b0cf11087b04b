"""Whole-log reads: the integrators' feed (the store's gapless global order), the
transparency statistics, the rules catalogue and the rulebook's deadlines."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from ..cli.rules import deadline_documents, rule_document
from ..domain.envelope import Position, RecordedEvent
from ..domain.rules.catalogue import CATALOGUE
from ..domain.statistics import CaseStatistics
from ..services.rulebook import RulebookService
from ..services.statistics import ageing_by_stage, projected_statistics
from ..store.crypto import is_personal
from .deps import CallerDep, ConfigDep, ServicesDep, require_role
from .problems import invalid_input

router = APIRouter()
_CURSOR = re.compile(r"^(\d{1,19})\.(\d{1,19})$")


class FeedPage(BaseModel):
    events: list[RecordedEvent]
    # Resume with ?after= this; the same cursor again when nothing new has committed.
    next_cursor: str


def _position(after: str | None) -> Position:
    if after is None:
        return Position()
    match = _CURSOR.match(after)
    if match is None or max(int(match[1]), int(match[2])) >= 2**63:
        raise invalid_input("after: not a cursor this API gave out "
                         "(TX.POSITION)", rule="valid-cursor", field="after")
    return Position(tx_id=int(match[1]), global_position=int(match[2]))


def _cursor(position: Position) -> str:
    return f"{position.tx_id}.{position.global_position}"


def sealed(node: Any) -> Any:
    """Personal values replaced by their sealed form: the subject is named, the value not."""
    if is_personal(node):
        return {"pii": True, "subject_id": node["subject_id"], "value": None, "sealed": True}
    if isinstance(node, dict):
        return {k: sealed(v) for k, v in node.items()}
    if isinstance(node, list):
        return [sealed(v) for v in node]
    return node


@router.get("/feed", response_model=FeedPage, tags=["feed"],
            summary="every event in the store's gapless global order, strictly after the "
                    "cursor; personal values sealed unless the role may see them")
async def feed(
    who: CallerDep, svc: ServicesDep, cfg: ConfigDep,
    after: Annotated[str | None, Query(max_length=40, description="a cursor (TX.POSITION)")]
    = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> FeedPage:
    require_role(who, cfg.feed_roles, "the feed")
    start = _position(after)
    events = await svc.store.read_all(start, limit=min(limit, cfg.page_limit))
    if who.actor.role not in cfg.feed_clear_roles:
        events = [e.model_copy(update={"payload": sealed(e.payload)}) for e in events]
    return FeedPage(events=events, next_cursor=_cursor(events[-1].position if events else start))


class StatisticsReport(CaseStatistics):
    """The statistics, and the open cases now by stage and days in it (as `dueprocess
    stats`): under 7 days, 7 to 28 days, over 28 days, unknown."""

    backlog_ageing: dict[str, dict[str, int]] = {}


@router.get("/stats", response_model=StatisticsReport, tags=["reports"],
            summary="transparency statistics (no personal data)")
async def stats(
    who: CallerDep, svc: ServicesDep,
    period_from: Annotated[datetime | None, Query(alias="from")] = None,
    period_to: Annotated[datetime | None, Query(alias="to", description="exclusive")] = None,
) -> StatisticsReport:
    for value, name in ((period_from, "from"), (period_to, "to")):
        if value is not None and value.tzinfo is None:
            raise invalid_input(f"{name}: must carry a time zone",
                             rule="aware-datetime", field=name)
    if period_from and period_to and period_from >= period_to:
        raise invalid_input("from must be before to", rule="period-order",
                         field="from")
    stats = await projected_statistics(svc.pool, period_from=period_from, period_to=period_to)
    # Backlog ageing is about the open cases now, whatever the reporting period.
    ageing = await ageing_by_stage(svc.pool, datetime.now(UTC))
    return StatisticsReport.model_validate({**stats.model_dump(), "backlog_ageing": ageing})


@router.get("/rules", tags=["reports"], summary="the catalogue of due-process rules")
async def rules(who: CallerDep) -> list[dict[str, Any]]:
    return [rule_document(rule) for rule in CATALOGUE]


@router.get("/rules/deadlines", tags=["reports"],
            summary="the published rulebook's deadlines: each version's periods, their "
                    "cited sources, and who a miss is escalated to with the next step")
async def deadlines(who: CallerDep, svc: ServicesDep) -> list[dict[str, Any]]:
    document = await RulebookService(svc.store).current()
    return [] if document is None else deadline_documents(document)
