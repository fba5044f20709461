"""A small cache of finished suggestions keyed by the text before the cursor.

Writers often delete a character and retype it, or type exactly what was suggested (Tab
takes a ghost whose sequel was prefetched): all land on a prompt already answered.
``lookup`` serves an exact prefix, or a longer prefix that the writer produced by typing
the start of a cached continuation (the rest of that continuation is still the model's
answer), so no request is needed.

The text before the cursor arrives as a bounded window whose start moves with the cursor
in a long document, so entries are keyed by the last ``KEY_CHARS`` characters: the same
text before the cursor gives the same key wherever the window starts.
"""

from __future__ import annotations

from collections import OrderedDict

from app.core.answer import Answer

#: How much of the text before the cursor identifies an answer.
KEY_CHARS = 512
#: How much of a cached prefix must be found again in a longer one typed into it.
_ANCHOR_CHARS = 64


class SuggestionCache:
    def __init__(self, capacity: int = 64) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._capacity = capacity
        self._items: OrderedDict[tuple[str, str], Answer] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        self._items.clear()

    def store(self, prefix: str, context_key: str, continuation: Answer) -> None:
        """Remember the model's answer ``continuation`` of ``prefix``.

        ``context_key`` separates results that depend on more than the prefix (the text
        after the cursor, the sampling settings, the model).
        """
        key = (prefix[-KEY_CHARS:], context_key)
        self._items[key] = continuation
        self._items.move_to_end(key)
        while len(self._items) > self._capacity:
            self._items.popitem(last=False)

    def lookup(self, prefix: str, context_key: str) -> Answer | None:
        """The answer for ``prefix``, exact or reached by typing into a cached one (then
        the rest of it, with its confidence given what was typed)."""
        tail = prefix[-KEY_CHARS:]
        exact = self._items.get((tail, context_key))
        if exact is not None:
            self._items.move_to_end((tail, context_key))
            return exact
        best: tuple[int, Answer] | None = None
        for (cached, key), continuation in self._items.items():
            if key != context_key:
                continue
            typed = _typed_since(cached, tail)
            if typed is None:
                continue
            raw = continuation.raw
            fits = raw.startswith(typed) and len(raw) > len(typed)
            if fits and (best is None or len(typed) < best[0]):
                best = (len(typed), continuation.after(len(typed)))
        return best[1] if best else None


def _typed_since(cached: str, now: str) -> str | None:
    """What was added after ``cached`` to make ``now`` (both tails of the same text), or
    None when ``now`` does not continue ``cached``."""
    anchor = cached[-_ANCHOR_CHARS:]
    if not anchor:
        return now if cached == "" else None
    at = now.rfind(anchor)
    if at < 0:
        return None
    base = now[: at + len(anchor)]
    if not cached.endswith(base) and not base.endswith(cached):
        return None
    typed = now[at + len(anchor) :]
    return typed or None
