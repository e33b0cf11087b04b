"""What survives a full collection is frozen (out of later full collections' walk), and
everything is unfrozen now and then so that cyclic garbage among it is still freed."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Iterator

import pytest
from dueprocess.store.collector import freeze_survivors


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
