"""Reading policy files (the rulebook) from disk; the domain parses text only."""

from __future__ import annotations

from pathlib import Path

from .. import deploy
from ..domain.policy import PolicyDocument, load_policy


def sample_policy_path() -> Path:
    return Path(deploy.__file__).parent / "policies" / "sample.yaml"


def load_policy_file(path: Path | str | None) -> PolicyDocument:
    """Load YAML or JSON; errors name the file and the field (PolicyError)."""
    path = Path(path) if path is not None else sample_policy_path()
    text = path.read_text("utf-8")
    return load_policy(text, "json") if path.suffix == ".json" else load_policy(text, "yaml")
