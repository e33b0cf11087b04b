"""Subject keys at rest: how they are stored, and wrapping them under the current KEK.

Workers wrap the keys they create (``crypto.KeyWrap``). Keys stored before a KEK was
configured, or wrapped by a KEK being retired, are wrapped here: ``dueprocess keys wrap``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from . import crypto
from .db import Database

_BATCH = 500


class KeyStatus(BaseModel):
    model_config = ConfigDict(frozen=True)

    live_in_clear: int
    live_wrapped: dict[str, int]  # KEK fingerprint (hex) -> live keys it wraps
    destroyed: int
    current_kek: str | None  # the fingerprint that wraps new keys; None: keys stay in clear
    needing_wrap: int  # live keys not wrapped by the current KEK (0 without one)


async def key_status(db: Database, key_wrap: crypto.KeyWrap) -> KeyStatus:
    rows = await db.fetch(
        """SELECT CASE WHEN destroyed_at IS NOT NULL THEN 'destroyed'
                       WHEN length(key_material) = $1 AND substring(key_material FROM 1 FOR 4) = $2
                       THEN encode(substring(key_material FROM 5 FOR 8), 'hex')
                       ELSE 'clear' END AS form,
                  count(*) AS n
             FROM subject_keys GROUP BY 1""",
        crypto.WRAPPED_LENGTH, crypto.WRAPPED_PREFIX,
    )
    counts = {r["form"]: int(r["n"]) for r in rows}
    clear = counts.pop("clear", 0)
    destroyed = counts.pop("destroyed", 0)
    current = key_wrap.current
    needing = 0 if current is None else clear + sum(
        n for fingerprint, n in counts.items() if fingerprint != current)
    return KeyStatus(live_in_clear=clear, live_wrapped=counts, destroyed=destroyed,
                     current_kek=current, needing_wrap=needing)


class WrapResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    wrapped: int
    failed: dict[int, str]  # key id -> why it could not be wrapped (left as it was)


# A key whose id was reserved before a lower one's row was inserted can land behind a
# pass's cursor; passes repeat until one finds nothing left to wrap.
_PASSES = 3


async def wrap_keys(db: Database, key_wrap: crypto.KeyWrap) -> WrapResult:
    """Wrap every live key not yet wrapped by the current KEK.

    Each key is unwrapped, wrapped again and read back before it is written, and written
    only if the row still holds what was read and is still live (an erasure meanwhile
    wins). A key that does not unwrap is reported and left as it is; the rest go on.
    Safe to run while workers append, and to re-run after an interruption."""
    if key_wrap.current is None:
        raise crypto.KeyUnavailable(
            f"no key-encryption key wraps new keys: set {crypto.KEK_VARIABLE} (its first "
            "key wraps)")
    wrapped = 0
    failed: dict[int, str] = {}
    for _ in range(_PASSES):
        found = 0
        after = 0
        while rows := await db.fetch(
            """SELECT key_id, subject_id, key_material FROM subject_keys
                WHERE destroyed_at IS NULL AND key_id > $1 ORDER BY key_id LIMIT $2""",
            after, _BATCH,
        ):
            after = rows[-1]["key_id"]
            for row in rows:
                stored = bytes(row["key_material"])
                if row["key_id"] in failed or not key_wrap.needs_wrapping(stored):
                    continue
                found += 1
                try:
                    wrapped += await _wrap_one(db, key_wrap, row["key_id"], row["subject_id"],
                                               stored)
                except crypto.KeyUnavailable as err:
                    failed[row["key_id"]] = str(err)
        if not found:
            break
    return WrapResult(wrapped=wrapped, failed=failed)


async def _wrap_one(
    db: Database, key_wrap: crypto.KeyWrap, key_id: int, subject: str, stored: bytes
) -> int:
    material = key_wrap.unwrap(key_id, subject, stored)
    new = key_wrap.wrap(key_id, subject, material)
    if key_wrap.unwrap(key_id, subject, new) != material:  # never lose a key
        raise crypto.KeyUnavailable(f"subject key {key_id}: wrapping did not round-trip")
    # Through the owner's function (0010): the application role may not UPDATE keys.
    wrapped = await db.fetchval("SELECT dueprocess_wrap_key($1, $2, $3)", key_id, stored, new)
    return 1 if wrapped else 0
