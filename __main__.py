"""`python -m dueprocess` is the `dueprocess` command."""

import sys

from .cli import main

sys.exit(main())
