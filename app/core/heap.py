"""Keep Python's cyclic garbage collector from stalling the event loop while the writer types.

A full collection walks every tracked object. Once Qt, numpy, llama.cpp's bindings and a
model are loaded that is about 80,000 objects and 30-70 ms on a 2-core laptop: a stall the
writer sees as a frozen cursor, arriving whenever enough short-lived objects (requests,
text pieces) have come and gone. What exists after start-up and after a model loads lives
as long as the app, so it is moved out of the collector's view (``gc.freeze``), once, when
the first model has loaded; later collections walk only what was made since. Frozen
objects are still freed by reference counting; only cycles among them would wait.
"""

from __future__ import annotations

import gc

_settled = False


def settle_heap() -> bool:
    """Collect what is garbage now, then freeze the rest; the first call only.

    Returns whether this call froze anything.
    """
    global _settled
    if _settled:
        return False
    _settled = True
    gc.collect()
    gc.freeze()
    return True
