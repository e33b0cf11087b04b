"""`python -m dueprocess` is the `dueprocess` command."""

from .cli import run

run()
