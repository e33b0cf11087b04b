"""Subject keys for sealing personal values outside the store (Temporal payloads).

Values are sealed under a key derived from the subject's own key (HKDF, its own label), so
destroying the subject key (erasure) makes them unreadable wherever they were copied; the
derivation keeps the store's key from serving two ciphertext formats. A subject with no
key yet gets one, as the append would create it (migration 0013); an erased subject gets
none (``None``): its values are sealed to the redaction marker instead.
"""

from __future__ import annotations

from collections.abc import Iterable

import asyncpg
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from . import crypto
from .db import Database

_LABEL = b"dueprocess-temporal-payload-v1"


def derived(material: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_LABEL).derive(material)


class SubjectKeyring:
    """Derived keys by subject (to seal) and by key id (to open). Never cached: an erasure
    takes effect for the next payload sealed or opened."""

    def __init__(self, pool: Database, key_wrap: crypto.KeyWrap = crypto.NO_KEY_WRAP) -> None:
        self._pool = pool
        self._key_wrap = key_wrap

    async def sealing_keys(self, subjects: Iterable[str]) -> dict[str, tuple[int, bytes] | None]:
        """Subject -> (key id, derived key); None for an erased subject."""
        wanted = sorted(set(subjects))
        found: dict[str, tuple[int, bytes] | None] = {}
        if not wanted:
            return found
        rows = await self._pool.fetch(
            """SELECT key_id, subject_id, key_material, destroyed_at IS NOT NULL AS gone
                 FROM subject_keys WHERE subject_id = ANY($1::text[])""", wanted)
        erased = {r["subject_id"] for r in rows if r["gone"]}
        for r in rows:
            if not r["gone"] and r["subject_id"] not in erased:
                found[r["subject_id"]] = self._derive(r["key_id"], r["subject_id"],
                                                      r["key_material"])
        for subject in wanted:
            if subject in erased:
                found[subject] = None
            elif subject not in found:
                found[subject] = await self._create(subject)
        return found

    async def opening_keys(self, key_ids: Iterable[int]) -> dict[int, bytes | None]:
        """Key id -> derived key; None once destroyed (or unknown)."""
        ids = sorted(set(key_ids))
        keys: dict[int, bytes | None] = dict.fromkeys(ids)
        if ids:
            for r in await self._pool.fetch(
                "SELECT key_id, subject_id, key_material FROM subject_keys "
                "WHERE key_id = ANY($1::bigint[])", ids):
                if r["key_material"] is not None:
                    keys[r["key_id"]] = self._derive(r["key_id"], r["subject_id"],
                                                     r["key_material"])[1]
        return keys

    def _derive(self, key_id: int, subject: str, stored: bytes) -> tuple[int, bytes]:
        return key_id, derived(self._key_wrap.unwrap(key_id, subject, bytes(stored)))

    async def _create(self, subject: str) -> tuple[int, bytes] | None:
        async with self._pool.acquire() as conn:
            key_id = await conn.fetchval(
                "SELECT nextval(pg_get_serial_sequence('subject_keys', 'key_id'))")
            stored = self._key_wrap.wrap(key_id, subject, crypto.new_key())
            try:
                row = await conn.fetchrow(
                    "SELECT * FROM dueprocess_subject_key($1, $2, $3)", subject, key_id, stored)
            except asyncpg.UniqueViolationError as err:
                if err.constraint_name == "subject_erased":
                    return None
                raise
        if row is None:  # erased between the lookup and the insert
            return None
        return self._derive(row["key_id"], subject, row["key_material"])
