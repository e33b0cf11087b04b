"""The statistics page: the transparency figures (``dueprocess stats``, the API's
``/stats``) as charts with the same figures in tables, and CSV / JSON downloads.

No personal data is shown or sent (invariant 14), so, as the API's ``/stats``, every
signed-in person may see them. The period is two dates in the query string: ``from``
inclusive, ``to`` a whole day included, as ``dueprocess stats --from --to`` reads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from ..domain.statistics import CaseStatistics
from ..services.statistics import overdue_by_stage, projected_statistics
from .render import render
from .session import ViewerDep
from .state import services
from .stats_charts import statistics_svgs
from .stats_export import to_csv, to_json

router = APIRouter()
FromParam = Annotated[str, Query(alias="from", max_length=10)]
ToParam = Annotated[str, Query(alias="to", max_length=10)]


@dataclass(frozen=True)
class Period:
    text_from: str
    text_to: str
    start: datetime | None
    end: datetime | None  # exclusive
    errors: dict[str, str]

    @property
    def query(self) -> str:
        shown = {"from": self.text_from, "to": self.text_to}
        return urlencode({k: v for k, v in shown.items() if v})


def period(text_from: str, text_to: str) -> Period:
    """The period the form asks for, or what is wrong with it (field -> one line)."""
    errors: dict[str, str] = {}
    bounds: dict[str, datetime | None] = {}
    for name, text, extra in (("from", text_from, 0), ("to", text_to, 1)):
        try:
            day = date.fromisoformat(text) if text else None
        except ValueError:
            errors[name] = f"{name}: must be a date, YYYY-MM-DD (rule iso-date)"
            day = None
        bounds[name] = (datetime.combine(day + timedelta(days=extra), time.min, tzinfo=UTC)
                        if day else None)
    start, end = bounds["from"], bounds["to"]
    if start is not None and end is not None and start >= end:
        errors["to"] = "to: must not be before from (rule period-order)"
    return Period(text_from, text_to, start, end, errors)


async def _statistics(request: Request, p: Period) -> CaseStatistics:
    return await projected_statistics(services(request).pool, period_from=p.start,
                                      period_to=p.end)


@router.get("/stats", include_in_schema=False)
async def statistics_page(request: Request, who: ViewerDep,
                          period_from: FromParam = "",
                          period_to: ToParam = ""
                          ) -> HTMLResponse:
    p = period(period_from.strip(), period_to.strip())
    if p.errors:
        return render(request, who, "stats.html", status=422, period=p, stats=None,
                      charts=[])
    stats = await _statistics(request, p)
    overdue = await overdue_by_stage(services(request).pool, datetime.now(UTC))
    charts = [(chart, Markup(svg)) for chart, svg in  # escaped by ElementTree
              statistics_svgs(stats, overdue)]
    return render(request, who, "stats.html", period=p, stats=stats, charts=charts)


@router.get("/stats.csv", include_in_schema=False)
async def statistics_csv(request: Request, who: ViewerDep,
                         period_from: FromParam = "",
                         period_to: ToParam = ""
                         ) -> Response:
    return await _download(request, period_from, period_to, "csv")


@router.get("/stats.json", include_in_schema=False)
async def statistics_json(request: Request, who: ViewerDep,
                          period_from: FromParam = "",
                          period_to: ToParam = ""
                          ) -> Response:
    return await _download(request, period_from, period_to, "json")


async def _download(request: Request, text_from: str, text_to: str, kind: str) -> Response:
    p = period(text_from.strip(), text_to.strip())
    if p.errors:
        return Response("; ".join(p.errors.values()) + "\n", status_code=422,
                        media_type="text/plain; charset=utf-8")
    stats = await _statistics(request, p)
    body, media = (to_csv(stats), "text/csv; charset=utf-8") if kind == "csv" else (
        to_json(stats), "application/json")
    name = "dueprocess-statistics" + "".join(
        f"-{part}" for part in (p.text_from, p.text_to) if part)
    return Response(body, media_type=media, headers={
        "Content-Disposition": f'attachment; filename="{name}.{kind}"'})
