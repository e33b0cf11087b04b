"""The checked-in OpenAPI document (api/openapi.json): regenerate it with
``python -m dueprocess.api.openapi`` after changing the API or the models it serves;
a test fails while the checked-in copy differs from what the code generates."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

from .app import fastapi_app, openapi_document

CHECKED_IN = Path(__file__).with_name("openapi.json")


def generated() -> dict[str, Any]:
    # The document depends on the routes and models only, never on the services (the
    # console, mounted beside the API, only keeps a reference to their pool).
    return openapi_document(fastapi_app(cast(Any, SimpleNamespace(pool=None)), cast(Any, None)))


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main() -> int:
    CHECKED_IN.write_text(render(generated()), encoding="utf-8")
    print(f"wrote {CHECKED_IN}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
