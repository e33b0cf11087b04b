"""Where `dueprocess dev`'s local issuer listened last (the data dir remembers its port):
a token is bound to its issuer's URL, so on the same port tokens minted before a restart
keep verifying."""

from __future__ import annotations

import os
from pathlib import Path

PORT_FILE = "oidc-issuer.port"


def remembered_port(data_dir: Path) -> int:
    """The port to ask for first: the last one, or 0 (any free port)."""
    try:
        port = int((data_dir / PORT_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return 0
    return port if 1024 <= port <= 65535 else 0


def remember_port(data_dir: Path, url: str) -> None:
    # Owner-only like the data dir's other files; written whole, then moved into place.
    scratch = data_dir / (PORT_FILE + ".tmp")
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(url.rpartition(":")[2])
    scratch.replace(data_dir / PORT_FILE)
