"""The stored envelope of an imported event: an ``imported`` key only when imported, so
every older envelope (and its hash chain) is byte for byte what it was."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from dueprocess.domain.base import Actor
from dueprocess.domain.envelope import ImportRecord, NewEvent
from dueprocess.store.documents import envelope_bytes, envelope_document

AT = datetime(2016, 6, 1, 9, tzinfo=UTC)
NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)


def event(imported: ImportRecord | None = None) -> NewEvent:
    return NewEvent(event_id=uuid.UUID(int=7), event_type="CaseClosed", payload={"x": 1},
                    actor=Actor(id="staff-1", role="case_officer"), authority="procedure",
                    recorded_at=NOW, effective_at=AT, imported=imported)


def test_an_event_recorded_here_has_no_import_key_and_is_known_when_recorded() -> None:
    plain = event()
    assert "imported" not in envelope_document("case-1", 1, plain, plain.payload)
    assert plain.known_at == NOW and not plain.asserted


def test_an_imported_event_stores_its_provenance_in_sorted_keys() -> None:
    imported = event(ImportRecord(source="register", import_id="imp-1", record="cases[0]",
                                  importer=Actor(id="ops-1", role="operator"),
                                  known_at=datetime(2016, 6, 2, tzinfo=UTC)))
    document = envelope_document("case-1", 1, imported, imported.payload)
    assert list(document) == sorted(document)
    assert document["imported"]["known_at"] == datetime(2016, 6, 2, tzinfo=UTC)
    assert imported.known_at == datetime(2016, 6, 2, tzinfo=UTC) and imported.asserted
    assert envelope_bytes("case-1", 1, imported, imported.payload) != \
        envelope_bytes("case-1", 1, event(), imported.payload)


def test_an_import_without_an_asserted_time_is_known_from_its_effective_time() -> None:
    imported = event(ImportRecord(source="register", import_id="imp-1", record="cases[0]",
                                  importer=Actor(id="ops-1", role="operator")))
    assert imported.known_at == AT
