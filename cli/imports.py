"""`dueprocess import FILE`: past cases and memberships recorded elsewhere.

The file (JSON or YAML, format ``dueprocess-import/1``: domain/imports/model.py; a sample
is deploy/imports/sample-2016.yaml) is judged whole before anything is written; then
every stream is written in one transaction and the open cases resume in their workflows
(Temporal is needed only when the file has an open case). The importer is the operator:
the operating-system user running the command, as for `policy publish`.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import yaml

from ..domain.imports.model import ImportRejected
from ..domain.retention import case_retention_end
from ..services.client import DueProcessClient
from ..services.client_errors import is_bad_input
from ..services.importer import (
    ImportReport,
    ImportService,
    resume_in_workflow,
    retain_in_workflow,
)
from ..services.roles import OPERATOR, operator_actor, operator_principal
from ..services.rulebook import RulebookService
from ..settings import Settings
from .common import EXTENSIONS, InputError, command, emit, require_id
from .connect import connect_client, connect_pool, store_for
from .errors import REJECTED, USAGE, Failure, report


def read_document(source: str) -> Any:
    """The file's document: YAML (which includes JSON), from a file or stdin ('-')."""
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{source}: not UTF-8 text", field="FILE", rule="utf-8") from None
    except IsADirectoryError:
        raise InputError(f"{source}: is a directory", field="FILE",
                         rule="readable-file") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        where = getattr(err, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        raise InputError(f"{source}: not valid JSON or YAML{line}", field="FILE",
                         rule="import-file-syntax") from None


def _text(result: ImportReport, dry_run: bool) -> str:
    verb = "would import" if dry_run else "already imported" if result.already_imported \
        else "imported"
    lines = [f"{verb} {result.events or ''} event(s) from {result.source!r} as import "
             f"{result.import_id} by {result.importer.role}:{result.importer.id}".replace(
                 "  ", " "),
             f"  members: {', '.join(result.members) or 'none'}"]
    for case in result.cases:
        state = "closed" if case.closed else f"open at {case.stage}" + (
            ", resumed" if case.resumed else ", NOT resumed: import the file again")
        if case.retention_until is not None:
            state += f", kept until {case.retention_until.isoformat()}" + (
                "" if case.retained or dry_run else
                " (retention timer NOT started: import the file again)")
        lines.append(f"  case {case.case_id} ({case.record}): {case.events} event(s), "
                     f"{state}; {case.historical_deadlines} deadline(s) missed before the "
                     "import, recorded at their due times (historical, not fired today)")
        lines += [f"    {finding}" for finding in case.findings]
    return "\n".join(lines)


@command("import")
async def _import(args: argparse.Namespace, settings: Settings) -> int:
    document = read_document(args.file)
    import_id = require_id(args.import_id, "--import-id") if args.import_id else str(uuid4())
    actor, principal = operator_actor(OPERATOR), operator_principal()
    now = datetime.now(UTC)
    try:
        async with connect_pool(settings) as pool:
            store = store_for(pool, settings)
            rulebook = RulebookService(store).current
            service = ImportService(pool, store, rulebook)
            plan = await service.check(document, actor, now, import_id=import_id,
                                       principal=principal)
            # Temporal only for what it must run: open cases, and retention timers.
            timed = [c for c in plan.cases
                     if not c.closed or case_retention_end(c.state) is not None]
            if args.dry_run or not timed:
                result = await service.run(document, actor, now, import_id=import_id,
                                           principal=principal, dry_run=args.dry_run)
            else:
                async with connect_client(settings) as client:
                    cases = DueProcessClient(client, settings.task_queue)
                    result = await ImportService(
                        pool, store, rulebook, resume_in_workflow(cases),
                        retain_in_workflow(cases)).run(
                        document, actor, now, import_id=import_id, principal=principal)
    except ImportRejected as err:
        # A file not in the format is bad input (exit 2, as the README's table says); a
        # file whose history cannot be taken as it is was refused (exit 1).
        shape = is_bad_input(err)
        return report(Failure(USAGE if shape else REJECTED,
                              f"import refused, nothing was imported: {err.message} "
                              f"(rule {err.rule})", err.error_type, err.rule, err.field,
                              {"record": err.record} if shape
                              else {"rejected": True, "record": err.record}),
                      as_json=args.json)
    emit(args, result.model_dump(mode="json"), _text(result, args.dry_run))
    return 1 if result.not_resumed or result.not_retained else 0


def _extend(sub: Any, add: Any) -> None:
    imp = add("import", "import past cases and memberships recorded elsewhere "
              "(format dueprocess-import/1; sample: deploy/imports/sample-2016.yaml)")
    imp.add_argument("file", help="JSON or YAML import file, '-' for stdin")
    imp.add_argument("--import-id", help="id of this import (default: a new one); the same "
                     "file again under the same id writes nothing and resumes open cases")
    imp.add_argument("--dry-run", action="store_true",
                     help="judge the whole file and report, writing nothing")


EXTENSIONS.append(_extend)
