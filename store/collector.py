"""Keeping the garbage collector's full collections short in a long-running process.

A full collection walks every object the collector tracks and stalls the event loop while
it does; ``gc.freeze`` puts objects out of its reach. Start-up's objects are frozen once
(worker.run_worker); the projections' caches (decoded events, folded cases) then grow and
churn, and each full collection walked them all again, finding nothing to free. Measured
(bench/lag.py, 30 cases/s, ``gc.callbacks``, loaded machine): a full collection every 4-7 s
taking 0.1 s at first and 0.6-1.1 s from 15 s on, collecting 0 objects, each one a jump
in every projection's lag (the p99: 2.2 s while the p50 was 0.14 s).

So after each full collection its survivors are frozen too, and the next walks only what
was made since. Frozen objects still go when their last reference does (reference
counting); only garbage in reference cycles among them waits: every ``THAW_SECONDS`` all
is unfrozen, and the next full collection, walking everything once, frees it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import Iterator

CHECK_SECONDS = 1.0
THAW_SECONDS = 600.0


def _full_collections() -> int:
    return int(gc.get_stats()[2]["collections"])


async def freeze_survivors(
    stop: asyncio.Event, *, check: float = CHECK_SECONDS, thaw: float = THAW_SECONDS
) -> None:
    """Until ``stop``: freeze what survives each full collection (looked for every
    ``check`` seconds); unfreeze everything every ``thaw`` seconds."""
    seen, thawed = _full_collections(), time.monotonic()
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=check)
        full = _full_collections()
        if time.monotonic() - thawed >= thaw:
            gc.unfreeze()  # the next full collection walks (and frees) everything once
            thawed = time.monotonic()
        elif full != seen:
            gc.freeze()
        seen = full


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """The cyclic collector held off for a stretch of synchronous work that makes many
    short-lived objects and no reference cycles, such as decoding a page of events (dicts,
    strings, models: freed by reference counting as soon as they are dropped).

    Why (issue 14): decoding a page of 1,000 events makes some 30 tracked objects per
    event, so the collector ran a young collection every ~20 events and, as pages
    survived into the older generations, full ones over everything the process holds.
    ``read_all`` pages of 1,000 over a 20,000-event log grown as bench/whole_log.py grows
    one, with and without the pause in turn in one process (a VM with much CPU steal),
    client CPU per event without/with: 120/80, 131/72, 82/60, 92/69 us (without run first
    in each pair), 117/98, 106/94, 109/83, 114/97 (with run first): 11-45% lower in each
    of the 8 pairs; full collections 5 -> 0-1 per pass, young ones ~610 -> ~57 (those
    outside the pauses). bench/whole_log.py itself, on the same busy VM, showed no change
    (96.8 us against the 96.4 us of a quieter day): its figures move with the machine.

    Process-wide, like the collector: while a stretch lasts (a page; for a scan by
    document, what it kept), a thread allocating meanwhile (a worker's workflow
    activations) gets no cyclic collection, only reference counting. Meant for the event
    loop's thread: nested there, the collector is back on only when the outermost stretch
    ends, and a collector a caller had switched off stays off. Two threads whose stretches
    overlap without nesting would give it back when the first ends (harmless: collections
    resume early); nothing pauses off the loop's thread today."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
