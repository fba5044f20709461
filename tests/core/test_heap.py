"""The start-up heap is frozen once, so full collections no longer walk it."""

from __future__ import annotations

import gc

from app.core.heap import settle_heap


def test_the_heap_is_frozen_once() -> None:
    settle_heap()  # may already have run in this process (a window loaded a model)
    frozen = gc.get_freeze_count()
    assert frozen > 1000  # the interpreter, numpy, llama.cpp's bindings: all out of view
    assert settle_heap() is False  # never again: later garbage stays collectable
    assert gc.get_freeze_count() == frozen
    junk: list[object] = []
    junk.append(junk)  # a cycle made after the freeze is still collected
    del junk
    assert gc.collect() >= 1
