"""Times as people read them: countdowns computed on the server (no script needed)."""

from __future__ import annotations

from datetime import datetime, timedelta


def countdown(due: datetime | None, now: datetime) -> str:
    """"in 2 d 3 h", "overdue by 5 h 2 min": server-side, so it reads without scripts."""
    if due is None:
        return "no deadline pending"
    left = due - now
    span = abs(left)
    days, rest = divmod(int(span.total_seconds()), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [f"{days} d"] if days else []
    if hours:
        parts.append(f"{hours} h")
    if not days:
        parts.append(f"{minutes} min" if minutes or hours else f"{seconds} s")
    text = " ".join(parts)
    return f"overdue by {text}" if left < timedelta(0) else f"in {text}"
