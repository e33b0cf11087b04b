"""Fixtures the store tests share beyond tests/conftest.py."""

from fixtures.roles import app_pool  # noqa: F401  (the application role's pool)
