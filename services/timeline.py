"""A case's recorded events as timeline rows (JSON-ready dicts) and as aligned text, for
the CLI, the API and the demo."""

from __future__ import annotations

from typing import Any

from ..domain.envelope import RecordedEvent


def timeline_entry(event: RecordedEvent) -> dict[str, Any]:
    return {
        "stream": event.stream_id,
        "version": event.stream_version,
        "type": event.event_type,
        "effective_at": event.effective_at.isoformat(),
        "recorded_at": event.recorded_at.isoformat(),
        "actor": event.actor.model_dump(mode="json"),
        "authority": event.authority,
        "event_id": str(event.event_id),
        "to": event.payload.get("recipient_role") if event.event_type == "NotificationDispatched"
        else None,
    }


def render_timeline(entries: list[dict[str, Any]]) -> str:
    lines = []
    for e in entries:
        actor = e["actor"]
        when = e["effective_at"][:19].replace("T", " ")
        who = f"{actor['role']}:{actor['id']}"
        lines.append(f"{when}  {e['type']:26} {who:34} [{e['authority']}]"
                     + (f" -> {e['to']}" if e.get("to") else ""))
    return "\n".join(lines)
