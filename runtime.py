"""The handles of a running stack, as ``worker.open_runtime`` yields them: settings, the
Temporal client, the database pool and the event store. A module of its own so the
worker's background tasks (worker_tasks.py) take it without importing the composition root.
"""

from __future__ import annotations

from dataclasses import dataclass

from temporalio.client import Client

from .settings import Settings
from .store.db import Database
from .store.eventstore import EventStore


@dataclass
class Runtime:
    settings: Settings
    dsn: str
    temporal_address: str
    client: Client
    pool: Database
    store: EventStore
    ui_url: str | None = None
    embedded_database: bool = False
    embedded_temporal: bool = False
