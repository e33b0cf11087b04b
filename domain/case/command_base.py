"""The base of every case command (domain/case/commands.py, timer_commands.py and
reporter_commands.py)."""

from __future__ import annotations

from pydantic import AwareDatetime

from ..base import CommandBase


class CaseCommandBase(CommandBase):
    # Aware times only: comparing naive and aware datetimes raises instead of deciding.
    effective_at: AwareDatetime | None = None
