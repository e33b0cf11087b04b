"""Seeding for bench/console_render.py: cases through the event store, as a running
system writes them (see that script's docstring). Not a benchmark itself (the leading
underscore keeps bench/run.py from running it)."""

from __future__ import annotations

import asyncio
import random
import sys
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the fixtures

from dueprocess.domain.case.decide import decide
from dueprocess.domain.case.events import CASE_EVENT_ADAPTER, CaseEvent
from dueprocess.domain.case.state import CaseState, evolve
from dueprocess.domain.envelope import envelope_for
from dueprocess.domain.streams import case_stream
from dueprocess.store.eventstore import EventStore
from fixtures import case_examples as ex

TEMPLATE = "template-case"
OFFICER = "staff-officer-1"
WRITERS = 4


def log(message: str) -> None:
    print(f"[console_render] {message}", file=sys.stderr, flush=True)


def template_history() -> list[tuple[dict[str, Any], datetime]]:
    """The happy path decided once: each event (python form) with the time it was decided."""
    state = CaseState.empty(TEMPLATE)
    found = []
    for step in ex.happy_path(sanction=ex.WARNING):
        for event in decide(state, step.command, step.now):
            state = evolve(state, event)
            found.append((event.model_dump(), step.now))
    return found


def _moved(node: Any, delta: timedelta, names: dict[str, str]) -> Any:
    """``node`` with every time moved by ``delta`` and every id in ``names`` renamed."""
    if isinstance(node, datetime):
        return node + delta
    if isinstance(node, date):
        return node + timedelta(days=delta.days)
    if isinstance(node, str):
        return names.get(node, node)
    if isinstance(node, dict):
        return {k: _moved(v, delta, names) for k, v in node.items()}
    if isinstance(node, list | tuple):
        return [_moved(v, delta, names) for v in node]
    return node


def case_events(n: int, template: list[tuple[dict[str, Any], datetime]], now: datetime,
                rng: random.Random) -> tuple[str, list[tuple[CaseEvent, datetime]]]:
    case_id = uuid.uuid4().hex
    closed = rng.random() < 0.3
    keep = len(template) if closed else rng.randint(1, len(template) - 1)
    delta = (now - rng.uniform(0, 60) * timedelta(days=1)) - template[0][1]
    panel = n % 10
    names = {TEMPLATE: case_id, ex.RESPONDENT_ID: f"m-{n}", ex.COMPLAINANT_ID: f"m-c{n}",
             ex.WITNESS_ID: f"m-w{n}", ex.INVESTIGATOR_ID: f"inv-{n % 20}",
             ex.OFFICER_ID: OFFICER, ex.PANEL_IDS[0]: f"panel-{panel}a",
             ex.PANEL_IDS[1]: f"panel-{panel}b"}
    events = [(CASE_EVENT_ADAPTER.validate_python(_moved(doc, delta, names)), at + delta)
              for doc, at in template[:keep]]
    return case_id, events


async def seed(store: EventStore, cases: int) -> list[str]:
    template = template_history()
    rng = random.Random(13)
    now = datetime.now(UTC)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(cases):
        queue.put_nowait(n)
    ids: list[str] = []

    async def writer() -> None:
        while not queue.empty():
            n = queue.get_nowait()
            case_id, events = case_events(n, template, now, rng)
            envelopes = [envelope_for(e, event_id=uuid.uuid4(), recorded_at=at,
                                      correlation_id=case_id) for e, at in events]
            await store.append(case_stream(case_id), 0, envelopes)
            ids.append(case_id)
            if len(ids) % 1000 == 0:
                log(f"seeded {len(ids)} cases")

    await asyncio.gather(*(writer() for _ in range(WRITERS)))
    return ids


