"""What survives a full collection is frozen (out of later full collections' walk), and
everything is unfrozen now and then so that cyclic garbage among it is still freed; the
collector is held off while a page of events is decoded, and given back as it was."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Iterator

import pytest
from dueprocess.store.collector import freeze_survivors, paused


@pytest.fixture(autouse=True)
def _thawed() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


async def _until(condition: Callable[[], bool]) -> None:
    for _ in range(3000):  # a generous bound (30 s), not a timing assertion
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("never happened")


async def test_the_survivors_of_a_full_collection_are_frozen() -> None:
    # given the freezer running, nothing frozen
    stop = asyncio.Event()
    freezer = asyncio.create_task(freeze_survivors(stop, check=0.01))
    await asyncio.sleep(0.05)
    assert gc.get_freeze_count() == 0
    # when a full collection happens
    gc.collect()
    # then what survived it is frozen
    await _until(lambda: gc.get_freeze_count() > 0)
    stop.set()
    await freezer


async def test_everything_is_unfrozen_every_thaw_period() -> None:
    # given frozen objects, and a freezer whose thaw period has passed
    gc.freeze()
    assert gc.get_freeze_count() > 0
    stop = asyncio.Event()
    freezer = asyncio.create_task(freeze_survivors(stop, check=0.01, thaw=0))
    # when it looks, then all is unfrozen (the next full collection walks it all once)
    await _until(lambda: gc.get_freeze_count() == 0)
    stop.set()
    await freezer


def test_the_collector_is_off_while_paused_and_on_again_after() -> None:
    # given the collector on
    assert gc.isenabled()
    # when a stretch runs paused, with another paused stretch inside it
    with paused():
        inside = gc.isenabled()
        with paused():
            nested = gc.isenabled()
        after_nested = gc.isenabled()
    # then it is off throughout, and on again once the outermost stretch ends
    assert (inside, nested, after_nested, gc.isenabled()) == (False, False, False, True)


def test_a_failing_stretch_gives_the_collector_back() -> None:
    # when the work inside a paused stretch raises
    with pytest.raises(ValueError), paused():
        raise ValueError("unreadable")
    # then the collector is on again
    assert gc.isenabled()


def test_a_collector_switched_off_by_the_caller_stays_off() -> None:
    # given a caller that switched the collector off itself
    gc.disable()
    try:
        # when a paused stretch ends
        with paused():
            pass
        # then it is left off, as the caller had it
        assert not gc.isenabled()
    finally:
        gc.enable()
