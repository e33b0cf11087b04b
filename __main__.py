"""`python -m dueprocess` is the `dueprocess` command."""

from .cli.main import run

run()
